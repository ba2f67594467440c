"""A batch's ledger writes as the sender makes them: one in flight at most, its answer read before the next dot."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy.engine import Connection

from service.delivery import ledger, prepared
from service.delivery.ledger import Outcome
from service.delivery.steps import Observer, Step
from service.models import utcnow


class Lease:
    """Renews a batch's lease well before it runs out, and notices when it was taken back."""

    def __init__(self, conn: Connection, token: str, seconds: int):
        self.conn, self.token, self.seconds = conn, token, seconds
        self.renewed = time.monotonic()

    def keep(self, force: bool = False) -> bool:
        """True while this worker still holds the rows it has not finished (the sweeper takes a lease whole)."""
        if not force and time.monotonic() - self.renewed < self.seconds / 3:
            return True
        held = ledger.renew(self.conn, token=self.token, until=utcnow() + timedelta(seconds=self.seconds))
        self.renewed = time.monotonic()
        return held


class Records:
    """Outcomes sent without waiting, so PostgreSQL commits one while the next message is built and written."""

    def __init__(self, conn: Connection, token: str, lease: Lease, observe: Observer):
        self.conn, self.token, self.lease, self.observe = conn, token, lease, observe
        self.answer: prepared.Answer = prepared.answered
        self.unanswered: int | None = None  # the delivery id whose write is not answered yet

    def write(self, delivery_id: int, outcome: Outcome) -> None:
        """Send one row's outcome (the previous write's answer must have been read)."""
        self.answer = ledger.start_record(self.conn, token=self.token, delivery_id=delivery_id, outcome=outcome)
        self.unanswered = delivery_id
        self.observe(Step.record_sent, delivery_id)

    def settled(self) -> bool:
        """Read the last write's answer: False when it changed nothing (the lease was taken back)."""
        held = bool(self.answer())
        if self.unanswered is not None:
            delivery_id, self.unanswered = self.unanswered, None
            if held:
                self.observe(Step.committed, delivery_id)
        return held

    def previous_committed(self) -> bool:
        """The last write is committed and this worker still holds its rows: the next message may complete."""
        return self.settled() and self.lease.keep()
