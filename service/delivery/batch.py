"""One claimed batch, sent row by row through the steps of service/delivery/steps.py, in their order.

For each row (README, "How it works", says what a crash between two steps leads to):
  build                          its message was signed while the previous row's record committed
  write content                  envelope and content on the wire, no final dot: the server keeps nothing yet
  wait for the previous record   the previous row's outcome is committed and the lease is still this worker's
  send the final dot             only now can the server deliver the message; its reply is read
  record                         the reply goes to the ledger without waiting; the next message is signed meanwhile
A row with nothing to send (its reader left, its address or message cannot be written) waits for the previous
record and is recorded at once.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.engine import Connection

from service.bounces.policy import Action, FailureKind, Verdict
from service.bounces.verp import Verp
from service.core.config import Settings
from service.core.logs import delivery_id as delivery_context
from service.delivery import ledger, outgoing, planning
from service.delivery.ledger import Claimed, Outcome
from service.delivery.message import Draft, EditionMail, Recipient
from service.delivery.outcomes import judged, retry_later
from service.delivery.records import Lease, Records
from service.delivery.refusals import Watch
from service.delivery.smtp_session import ConnectionLost, Reply, SmtpSession, SmtpUnavailable
from service.delivery.steps import Observer, Step, unobserved
from service.delivery.throttle import Throttle
from service.mail.suppressions import suppress
from service.models import DeliveryStatus, utcnow

log = logging.getLogger("service.delivery.sender")  # ops read the sender's lines under one name


@dataclass
class Drain:
    """What every batch of one drain shares (service/delivery/sender.py builds it)."""

    conn: Connection  # AUTOCOMMIT: each record is its own transaction
    settings: Settings
    mail: EditionMail
    list_id: int
    expires: datetime
    smtp: SmtpSession
    throttle: Throttle
    verp: Verp
    watch: Watch
    counts: Counter
    observe: Observer = unobserved


class Batch:
    """The rows of one claim and how far their sending has got; `send` walks them through the steps."""

    def __init__(self, drain: Drain, token: str, rows: list[Claimed]):
        self.drain, self.token, self.rows = drain, token, rows
        self.records = Records(
            drain.conn, token, Lease(drain.conn, token, drain.settings.send_lease_seconds), drain.observe
        )
        found = planning.readers(
            drain.conn, list_id=drain.list_id, now=utcnow(), subscriber_ids=[row.subscriber_id for row in rows]
        )
        self.readers = [found.get(row.subscriber_id, (None, "", "subscriber deleted")) for row in rows]
        self.envelopes = {
            position: outgoing.envelope_of(email) for position, (email, _, skip) in enumerate(self.readers) if not skip
        }
        self.senders = [
            drain.verp.for_delivery(row.delivery_id) if drain.verp.enabled else drain.mail.envelope_from for row in rows
        ]
        # the next message's envelope rides with each final dot (not when rate-limited: it would sit in DATA)
        self.ahead = {} if drain.throttle.rate > 0 else outgoing.ahead_plan(self.envelopes, self.senders)
        self.message: bytes | Outcome | None = None  # the current row's, built while the previous record committed
        self.next_draft: Draft | Outcome | None = None  # the next row's cheap half, made while the server reads

    def send(self) -> bool:
        """Send every row in ledger order; False when the drain should stop (server unreachable, lease lost, paused)."""
        self.message = self.build(0)
        try:
            for position, row in enumerate(self.rows):
                if not self.send_row(position, row):
                    return False
            self.drain.watch.batch_done(self.drain.conn, upto=self.rows[-1].delivery_id, free=self.records.settled)
        finally:
            self.records.settled()  # never leave an answer unread on the connection
        return True

    def send_row(self, position: int, row: Claimed) -> bool:
        """One row through the steps; False when the batch stops here."""
        message, self.message = self.message, None
        if not isinstance(message, bytes):  # its outcome is known already: nothing goes on the wire
            return self.record_unsent(
                position, row, message or outgoing.refused(FailureKind.bad_message, "no message was built")
            )
        context = delivery_context.set(row.delivery_id)  # this message's log lines name its ledger row
        try:
            return self.send_message(position, row, message)
        finally:
            delivery_context.reset(context)

    def send_message(self, position: int, row: Claimed, message: bytes) -> bool:
        """Write content, wait for the previous record, send the final dot, record: in this order, never another."""
        email, name, _ = self.readers[position]
        recipient = Recipient(row.subscriber_id, email, name)
        self.drain.throttle.acquire(keepalive=self.records.previous_committed)
        now = utcnow()
        try:
            reply = self.write_content(position, row, recipient, message)
            if reply is None:  # the content waits on the wire for its final dot
                self.next_draft = self.draft(position + 1)  # the next message's cheap half, meanwhile
                if not self.wait_for_previous_record():
                    return self.lease_lost()
                reply = self.send_final_dot(row, recipient)
        except SmtpUnavailable as error:
            return self.defer(position, now, error)
        except ConnectionLost as error:  # the one message that may have gone out twice, at most, on retry
            reply = retry_later(
                attempts=row.attempts,
                settings=self.drain.settings,
                expires=self.drain.expires,
                now=now,
                text=f"connection lost during send: {error}",
            )
        if not self.records.settled():  # read already, unless the message was refused or its connection lost
            return self.lease_lost()
        verdict, outcome = judged(
            reply, attempts=row.attempts, settings=self.drain.settings, expires=self.drain.expires, now=now
        )
        if outcome.status == DeliveryStatus.sent:
            outcome = replace(outcome, message_id=self.drain.mail.message_id(recipient))
        self.record(row, outcome)
        self.message = self.build(position + 1)  # signed while the record commits
        return self.after_record(position, row, verdict, outcome, now)

    def record_unsent(self, position: int, row: Claimed, outcome: Outcome) -> bool:
        """A row with nothing to send: wait for the previous record, record this one, build the next message."""
        if not self.records.previous_committed():
            return self.lease_lost()
        self.record(row, outcome)
        self.message = self.build(position + 1)
        self.drain.counts[outcome.status] += 1
        return True

    def draft(self, position: int) -> Draft | Outcome | None:
        """The cheap half of a row's message (the reader filled in), or its outcome when it is not to be sent."""
        if position >= len(self.rows):
            return None
        email, name, skip = self.readers[position]
        envelope = self.envelopes.get(position)
        if not isinstance(envelope, str):
            return envelope if isinstance(envelope, Outcome) else Outcome(DeliveryStatus.skipped, error=skip)
        return outgoing.draft(self.drain.mail, Recipient(self.rows[position].subscriber_id, email, name))

    def build(self, position: int) -> bytes | Outcome | None:
        """Build: a row's whole message, signed (from the draft made while the server read the previous one)."""
        draft, self.next_draft = self.next_draft, None
        built = outgoing.finish(self.drain.mail, draft if draft is not None else self.draft(position))
        if isinstance(built, bytes):
            self.drain.observe(Step.built, self.rows[position].delivery_id)
        return built

    def write_content(
        self, position: int, row: Claimed, recipient: Recipient, message: bytes
    ) -> Reply | Outcome | None:
        """Write content: envelope and message without the final dot; None when the server waits for the dot."""
        written = outgoing.write_content(
            self.drain.smtp,
            self.drain.mail,
            recipient,
            message,
            (self.senders[position], str(self.envelopes[position])),
            self.ahead.get(position),
        )
        if written is None:
            self.drain.observe(Step.content_written, row.delivery_id)
        elif isinstance(written, Reply):  # refused: no content, no dot
            self.drain.observe(Step.replied, row.delivery_id)
        return written

    def wait_for_previous_record(self) -> bool:
        """Wait for the previous record: committed, and the lease still held, or this message never completes."""
        try:
            if self.records.previous_committed():
                return True
        except BaseException:  # the database failed: drop the message before its dot, and let the drain stop
            self.drain.smtp.withhold()
            raise
        self.drain.smtp.withhold()
        return False

    def send_final_dot(self, row: Claimed, recipient: Recipient) -> Reply | Outcome:
        """Send the final dot: only now can the server deliver the message; its reply is read."""
        self.drain.observe(Step.final_dot, row.delivery_id)
        reply = outgoing.final_dot(self.drain.smtp, self.drain.mail, recipient)
        if isinstance(reply, Reply):
            self.drain.observe(Step.replied, row.delivery_id)
        return reply

    def record(self, row: Claimed, outcome: Outcome) -> None:
        """Record: the row's outcome goes to the ledger without waiting (its answer is read before the next dot)."""
        self.records.write(row.delivery_id, outcome)

    def after_record(
        self, position: int, row: Claimed, verdict: Verdict | None, outcome: Outcome, now: datetime
    ) -> bool:
        """What a reply means beyond its row: a 5.1.x suppresses the address, too many 5.7.x pause the edition."""
        drain = self.drain
        if verdict is not None and verdict.action == Action.suppress and outcome.status == DeliveryStatus.failed:
            self.records.settled()
            suppress(drain.conn, str(self.readers[position][0]), verdict.reason)
        elif outcome.failure_kind == FailureKind.policy:
            log.error(
                "edition %s: policy refusal for reader %s, check the sending setup: %s",
                drain.mail.edition.id,
                row.subscriber_id,
                outcome.smtp_reply,
            )
            if drain.watch.refused(drain.conn, upto=row.delivery_id, free=self.records.settled):
                drain.counts[outcome.status] += 1
                return self.paused(position, now)
        drain.counts[outcome.status if outcome.status != DeliveryStatus.pending else "retry"] += 1
        return True

    def defer(self, position: int, now: datetime, error: SmtpUnavailable) -> bool:
        """No SMTP connection: nothing was sent, so this row and the rest go back to wait for a retry."""
        self.records.settled()
        rest = [row.delivery_id for row in self.rows[position:]]
        later = retry_later(
            attempts=self.rows[position].attempts,
            settings=self.drain.settings,
            expires=self.drain.expires,
            now=now,
            text=str(error),
        )
        ledger.release(
            self.drain.conn, token=self.token, delivery_ids=rest, retry_at=later.retry_at or now, error=str(error)
        )
        log.warning("edition %s: %s; %d rows wait for a retry", self.drain.mail.edition.id, error, len(rest))
        self.drain.counts["deferred"] += len(rest)
        ledger.finish_batch(self.drain.conn, token=self.token)
        return False

    def paused(self, position: int, now: datetime) -> bool:
        """The edition was paused mid-batch: the rows not sent yet go back to pending, due at once, for the resume."""
        rest = [row.delivery_id for row in self.rows[position + 1 :]]
        ledger.release(
            self.drain.conn,
            token=self.token,
            delivery_ids=rest,
            retry_at=now,
            error="the edition was paused before this message was sent",
        )
        ledger.finish_batch(self.drain.conn, token=self.token)
        self.drain.counts["released"] += len(rest)
        return False

    def lease_lost(self) -> bool:
        """Stop: another worker took the rows back (they were ours too long), or a record changed nothing."""
        log.warning(
            "edition %s: lease %s lost; leaving the rest of the batch to others", self.drain.mail.edition.id, self.token
        )
        return False
