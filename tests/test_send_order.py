"""The sender's steps happen in the order that keeps delivery exact, on a real SMTP server and real PostgreSQL.

A witness hears each step as the drain takes it (service/delivery/steps.py) and, at that moment, looks at the
world from outside the sender: the ledger through its own PostgreSQL connection, the SMTP server's mailbox.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain, pairwise

from sqlalchemy import select

from service.core.db import engine_for
from service.delivery.schedule import send_now
from service.delivery.sender import drain
from service.delivery.steps import Step
from service.models import Delivery, DeliveryStatus, Subscriber, utcnow
from tests.support.edition_stories import day_of_stories
from tests.support.readers import add_readers, pause

ORDER = [Step.claimed, Step.built, Step.content_written, Step.final_dot, Step.replied, Step.record_sent, Step.committed]


class Witness:
    """Notes each step, and checks what it may claim about the ledger and the mailbox as it happens."""

    def __init__(self, engine, mailbox, addresses: dict[int, str]):
        self.ledger = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self.mailbox, self.addresses = mailbox, addresses
        self.events: list[tuple[Step, int]] = []
        self.last_record: int | None = None
        self.problems: list[str] = []

    def __call__(self, step: Step, delivery_id: int) -> None:
        """One step of one ledger row, heard in the sender's own thread before it goes on."""
        self.events.append((step, delivery_id))
        address = self.addresses[delivery_id]
        if step == Step.final_dot:
            if self.last_record is not None and self._status(self.last_record) == DeliveryStatus.sending:
                self.problems.append(f"{delivery_id}'s final dot went before {self.last_record}'s record committed")
            if self.mailbox.messages_to(address):
                self.problems.append(f"the server had {address}'s message before its final dot")
        elif step == Step.record_sent:
            self.last_record = delivery_id
            sent = bool(self.mailbox.messages_to(address))
            if (Step.final_dot, delivery_id) in self.events and not sent:
                self.problems.append(f"{delivery_id} was recorded before the server accepted it")

    def _status(self, delivery_id: int) -> str:
        """The row's status as any other connection sees it now (committed data only)."""
        return self.ledger.scalar(select(Delivery.status).where(Delivery.id == delivery_id))

    def steps_of(self, delivery_id: int) -> list[Step]:
        """The steps one row went through, in the order heard."""
        return [step for step, row in self.events if row == delivery_id]

    def at(self, step: Step, delivery_id: int) -> int:
        """When a step of a row was heard (its place in the whole drain)."""
        return self.events.index((step, delivery_id))

    def batches(self) -> list[list[int]]:
        """The rows of each claim, in ledger order (a claim's rows are heard one after another)."""
        found: list[list[int]] = []
        for position, (step, row) in enumerate(self.events):
            if step == Step.claimed:
                if position == 0 or self.events[position - 1][0] != Step.claimed:
                    found.append([])
                found[-1].append(row)
        return found


def test_each_final_dot_waits_for_the_previous_record_and_each_record_for_the_servers_reply(
    db, settings, world_news, mailbox
):
    engine = engine_for(settings.effective_database_url)
    readers = add_readers(engine, world_news.id, 30)
    refused, paused = readers[7], readers[12]
    mailbox.reply_for[refused] = "550 5.1.1 No such user here"
    day_of_stories(db)
    edition, planned = send_now(settings, db, world_news, utcnow().date(), utcnow())
    assert planned == 30
    pause(engine, [paused])  # after planning: skipped at send time, nothing on the wire
    addresses = dict(
        db.execute(
            select(Delivery.id, Subscriber.email).join(Subscriber).where(Delivery.edition_id == edition.id)
        ).all()
    )
    ids = {address: row for row, address in addresses.items()}
    witness = Witness(engine, mailbox, addresses)
    try:
        result = drain(settings.model_copy(update={"send_batch_size": 12}), edition.id, observe=witness)
    finally:
        witness.ledger.close()

    assert witness.problems == []
    assert result.counts == Counter({DeliveryStatus.sent: 28, DeliveryStatus.failed: 1, DeliveryStatus.skipped: 1})
    assert Counter(r for m in mailbox.received for r in m.rcpt_tos) == Counter(set(readers) - {refused, paused})
    batches = witness.batches()
    assert [len(rows) for rows in batches] == [12, 12, 6] and sorted(chain(*batches)) == sorted(addresses)

    sent = [row for row in sorted(addresses) if addresses[row] not in (refused, paused)]
    for row in sent:
        assert witness.steps_of(row) == ORDER, addresses[row]
    assert witness.steps_of(ids[refused]) == [
        Step.claimed,
        Step.built,
        Step.replied,
        Step.record_sent,
        Step.committed,
    ], "refused at RCPT: no content, no dot"
    assert witness.steps_of(ids[paused]) == [Step.claimed, Step.record_sent, Step.committed]

    for rows in batches:
        for previous, row in pairwise(rows):
            # the exactly-once rule: a message completes only once the one before it is in the ledger
            assert row == ids[refused] or witness.at(Step.committed, previous) < witness.at(Step.final_dot, row)
            assert witness.at(Step.committed, previous) < witness.at(Step.record_sent, row)
            if previous in sent and row in sent:  # the speed: its content went while that record was committing
                assert witness.at(Step.content_written, row) < witness.at(Step.committed, previous)
                assert witness.at(Step.built, row) < witness.at(Step.committed, previous)
    for earlier, later in pairwise(batches):
        assert witness.at(Step.committed, earlier[-1]) < witness.at(Step.claimed, later[0]), "a batch ends recorded"
