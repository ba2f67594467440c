"""The ledger: one row per (edition, subscriber) says whether that email went out. SQL lives here.

Rows move pending -> sending (claimed under a lease) -> sent | failed | skipped; a temporary failure
goes back to pending with a later not_before. Every change to a claimed row checks its lease token,
so a worker whose lease was taken back can never overwrite what another worker recorded.

A pending row carries `due_at` (its not_before), and only pending rows are in the claim index; any
other state has due_at NULL. Leases live in their own table (service.delivery.leases). So recording an
outcome, the write made once per message, changes no indexed column.
"""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.engine import Connection

from service.addresses import address_hash
from service.bounces.policy import FailureKind
from service.db import insert_ignoring
from service.delivery import leases, prepared
from service.models import Delivery, DeliveryStatus, Subscriber, Subscription, SubscriptionStatus, as_utc
from service.suppressions import suppressed_among

D = cast(Table, Delivery.__table__)  # typed FromClause; a model with __tablename__ maps a Table
PLAN_BATCH = 5000


@dataclass(frozen=True)
class Claimed:
    """A row this worker now holds: send it, then record the outcome under the same lease token."""

    delivery_id: int
    subscriber_id: int
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """What happened to one message, as stored on its row."""

    status: str
    smtp_code: int | None = None
    smtp_reply: str | None = None
    failure_kind: str | None = None
    message_id: str | None = None
    sent_at: datetime | None = None
    retry_at: datetime | None = None
    error: str | None = None


def _audience(list_id: int, now: datetime, after_id: int):
    """The next batch of the list's confirmed, unpaused readers (suppressions are checked per batch)."""
    return (select(Subscriber.id, Subscriber.email, Subscriber.timezone)
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(Subscription.list_id == list_id, Subscription.status == SubscriptionStatus.confirmed,
                   or_(Subscriber.paused_until.is_(None), Subscriber.paused_until <= now), Subscriber.id > after_id)
            .order_by(Subscriber.id).limit(PLAN_BATCH))


def audience_size(conn: Connection, *, list_id: int, now: datetime) -> int:
    """How many readers `plan` would plan now: what "Send now" tells the editor before they press it."""
    counted, last_id = 0, 0
    while batch := conn.execute(_audience(list_id, now, last_id)).all():
        last_id = batch[-1].id
        blocked = suppressed_among(conn, (row.email for row in batch))
        counted += sum(1 for row in batch if address_hash(row.email) not in blocked)
    return counted


def plan(conn: Connection, *, edition_id: int, list_id: int, now: datetime, send_at) -> int:
    """Insert a pending row for every confirmed, unpaused, unsuppressed reader, in keyset batches.

    `send_at(timezone) -> datetime` gives each reader's not_before (the same moment for all, or
    the send time in the reader's own zone). Re-running it adds nothing twice.
    """
    planned, last_id = 0, 0
    while True:
        batch = conn.execute(_audience(list_id, now, last_id)).all()
        if not batch:
            return planned
        last_id = batch[-1].id
        blocked = suppressed_among(conn, (row.email for row in batch))
        rows = [{"edition_id": edition_id, "subscriber_id": row.id, "status": DeliveryStatus.pending,
                 "not_before": moment, "due_at": moment, "attempts": 0}
                for row in batch if address_hash(row.email) not in blocked
                for moment in (send_at(row.timezone),)]
        if rows:
            conn.execute(insert_ignoring(conn, D, ["edition_id", "subscriber_id"]), rows)
            planned += len(rows)


def readers(conn: Connection, *, list_id: int, subscriber_ids: Sequence[int], now: datetime) -> dict[int, tuple]:
    """For claimed rows: (email, name, reason to skip or None), read again at send time.

    A reader who unsubscribed, paused or was suppressed after planning is skipped, not mailed.
    """
    rows = conn.execute(
        select(Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.paused_until, Subscription.status)
        .join(Subscription, and_(Subscription.subscriber_id == Subscriber.id, Subscription.list_id == list_id),
              isouter=True)
        .where(Subscriber.id.in_(list(subscriber_ids)))
    ).all()
    blocked = suppressed_among(conn, (row.email for row in rows))
    found = {}
    for row in rows:
        reason = None
        if row.status != SubscriptionStatus.confirmed:
            reason = "no longer subscribed"
        elif address_hash(row.email) in blocked:
            reason = "suppressed"
        elif row.paused_until is not None and as_utc(row.paused_until) > now:
            reason = "paused"
        found[row.id] = (row.email, row.name or "", reason)
    return found


def claim(conn: Connection, *, edition_id: int, limit: int, now: datetime,
          lease_seconds: int) -> tuple[str, list[Claimed]]:
    """Take up to `limit` due pending rows under a fresh lease (call in a transaction: rows and lease together)."""
    token = secrets.token_hex(16)
    due = (select(D.c.id).where(D.c.edition_id == edition_id, D.c.due_at <= now)
           .order_by(D.c.due_at).limit(limit))
    if conn.dialect.name == "postgresql":
        # A materialized CTE locks its rows once. As an IN (subquery), the planner may run the LIMIT .. SKIP LOCKED
        # again for every outer row (a nested loop, chosen on a freshly planned, not yet analyzed ledger), and each
        # run skips the rows this statement already took and hands out new ones: one claim took 750 rows of 50.
        chosen = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        where = [D.c.id == chosen.c.id]
    else:
        where = [D.c.id.in_(due.scalar_subquery())]
    statement = (
        update(D)
        .where(*where, D.c.status == DeliveryStatus.pending)  # SQLite: the re-check
        .values(status=DeliveryStatus.sending, due_at=None, lease_token=token, attempts=D.c.attempts + 1)
        .returning(D.c.id, D.c.subscriber_id, D.c.attempts)
    )
    rows = conn.execute(statement).all()
    if rows:
        leases.open_lease(conn, token=token, edition_id=edition_id, expires_at=now + timedelta(seconds=lease_seconds))
    return token, sorted((Claimed(*row) for row in rows), key=lambda c: c.delivery_id)


def renew(conn: Connection, *, token: str, until: datetime) -> bool:
    """Keep a lease alive while its batch is still being sent; False once it was taken back."""
    return leases.renew(conn, token=token, until=until)


def finish_batch(conn: Connection, *, token: str) -> None:
    """Every row of the batch is recorded or given back: its lease goes."""
    leases.close(conn, token=token)


_RECORD = (
    update(D)
    .where(D.c.id == bindparam("row_id"), D.c.lease_token == bindparam("token"), D.c.status == DeliveryStatus.sending)
    .values(status=bindparam("status"), smtp_code=bindparam("smtp_code"), smtp_reply=bindparam("smtp_reply"),
            failure_kind=bindparam("failure_kind"), message_id=bindparam("message_id"),
            sent_at=bindparam("sent_at"), last_error=bindparam("last_error"))  # no indexed column: a HOT update
)
_RETRY = (
    update(D)
    .where(D.c.id == bindparam("row_id"), D.c.lease_token == bindparam("token"), D.c.status == DeliveryStatus.sending)
    .values(status=DeliveryStatus.pending, not_before=bindparam("retry_at"), due_at=bindparam("retry_at"),
            smtp_code=bindparam("smtp_code"), smtp_reply=bindparam("smtp_reply"), last_error=bindparam("last_error"),
            lease_token=None)
)


def record(conn: Connection, *, token: str, delivery_id: int, outcome: Outcome) -> bool:
    """Store one message's outcome; False when the lease was lost (another worker owns the row now)."""
    return start_record(conn, token=token, delivery_id=delivery_id, outcome=outcome)() == 1


def start_record(conn: Connection, *, token: str, delivery_id: int, outcome: Outcome) -> prepared.Answer:
    """Send one message's outcome without waiting: call the answer (rows changed, 1 or 0) before the next send.

    The drain builds the next message while PostgreSQL commits this one; nothing else may use the
    connection until the answer has been read.
    """
    common = {"row_id": delivery_id, "token": token, "smtp_code": outcome.smtp_code,
              "smtp_reply": _clip(outcome.smtp_reply), "last_error": _clip(outcome.error)}
    if outcome.status == DeliveryStatus.pending:
        return prepared.start(conn, _RETRY, {**common, "retry_at": outcome.retry_at})
    kind = None if outcome.failure_kind is None else str(outcome.failure_kind)  # a FailureKind, stored as its value
    return prepared.start(conn, _RECORD, {**common, "status": outcome.status, "failure_kind": kind,
                                          "message_id": outcome.message_id, "sent_at": outcome.sent_at})


def release(conn: Connection, *, token: str, delivery_ids: Sequence[int], retry_at: datetime, error: str) -> int:
    """Give claimed rows back untouched (the SMTP server is unreachable): pending again, later."""
    if not delivery_ids:
        return 0
    statement = (update(D).where(D.c.lease_token == token, D.c.status == DeliveryStatus.sending,
                                 D.c.id.in_(list(delivery_ids)))
                 .values(status=DeliveryStatus.pending, not_before=retry_at, due_at=retry_at, last_error=_clip(error),
                         lease_token=None, attempts=D.c.attempts - 1))
    return conn.execute(statement).rowcount


def take_back_expired(conn: Connection, *, now: datetime, edition_id: int | None = None) -> int:
    """Rows whose worker stopped (its lease ran out) become pending again, due at once (in the caller's transaction)."""
    tokens = leases.take_expired(conn, now=now, edition_id=edition_id)
    if not tokens:
        return 0
    statement = (update(D).where(D.c.lease_token.in_(tokens), D.c.status == DeliveryStatus.sending)
                 .values(status=DeliveryStatus.pending, due_at=now, lease_token=None,
                         last_error="lease expired: the worker stopped before recording an outcome"))
    return conn.execute(statement).rowcount


def expire_open(conn: Connection, *, edition_id: int, now: datetime) -> int:
    """Past the edition's expiry, what is still pending is failed: a daily edition is not sent days late."""
    statement = (update(D).where(D.c.edition_id == edition_id, D.c.due_at.is_not(None))
                 .values(status=DeliveryStatus.failed, due_at=None, failure_kind=FailureKind.expired.value,
                         sent_at=None, last_error=f"not delivered before the edition expired at {now.isoformat()}"))
    return conn.execute(statement).rowcount


def cancel_pending(conn: Connection, *, edition_id: int) -> int:
    """An admin's cancel: nothing pending is sent any more (rows being sent finish normally)."""
    statement = (update(D).where(D.c.edition_id == edition_id, D.c.due_at.is_not(None))
                 .values(status=DeliveryStatus.cancelled, due_at=None))
    return conn.execute(statement).rowcount


def reopen_failed(conn: Connection, *, edition_id: int, keep_failed: Sequence[str], now: datetime,
                  only: str | None = None) -> int:
    """An admin's "retry failed": failed rows (of one kind, if `only`) go back to pending, but never `keep_failed`."""
    kinds = or_(D.c.failure_kind.is_(None), D.c.failure_kind.not_in(list(keep_failed)))
    statement = (update(D).where(D.c.edition_id == edition_id, D.c.status == DeliveryStatus.failed,
                                 kinds if only is None else D.c.failure_kind == only)
                 .values(status=DeliveryStatus.pending, not_before=now, due_at=now, attempts=0, failure_kind=None,
                         lease_token=None))
    return conn.execute(statement).rowcount


def counts(conn: Connection, edition_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Rows per status for each edition: the numbers `editions status` and monitoring show."""
    result: dict[int, dict[str, int]] = {edition_id: {} for edition_id in edition_ids}
    if not edition_ids:
        return result
    query = (select(D.c.edition_id, D.c.status, func.count()).where(D.c.edition_id.in_(list(edition_ids)))
             .group_by(D.c.edition_id, D.c.status))
    for edition_id, status, number in conn.execute(query):
        result[edition_id][status] = number
    policy = D.c.failure_kind == FailureKind.policy.value
    flagged = (select(D.c.edition_id, func.count()).where(D.c.edition_id.in_(list(edition_ids)), policy)
               .group_by(D.c.edition_id))
    for edition_id, number in conn.execute(flagged):
        result[edition_id]["policy"] = number  # 5.7.x refusals: the sending setup needs a look, not the reader
    return result


def row_count(conn: Connection, edition_id: int) -> int:
    """How many ledger rows an edition has (what a prune would delete)."""
    return conn.scalar(select(func.count()).where(D.c.edition_id == edition_id)) or 0


def has_open(conn: Connection, edition_id: int) -> bool:
    """An edition is complete when no row is pending and no lease holds rows in sending (one statement, one view)."""
    pending = select(D.c.id).where(D.c.edition_id == edition_id, D.c.due_at.is_not(None))
    return bool(conn.scalar(select(or_(exists(pending), leases.held_query(edition_id).exists()))))


def has_due(conn: Connection, edition_id: int, now: datetime) -> bool:
    """Whether a drain would find work right now."""
    query = select(D.c.id).where(and_(D.c.edition_id == edition_id, D.c.due_at <= now)).limit(1)
    return conn.scalar(query) is not None


def _clip(text: str | None, limit: int = 1000) -> str | None:
    """Replies and errors are stored for people to read; they must fit their column."""
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


def earliest_lease_end(conn: Connection, edition_id: int) -> datetime | None:
    """When the first lease on this edition's rows runs out; None when no worker holds any."""
    return leases.earliest_end(conn, edition_id)


def has_live_lease(conn: Connection, edition_id: int, now: datetime) -> bool:
    """Whether some worker is sending this edition right now (then the sweeper need not start another)."""
    return leases.held_for(conn, edition_id, live_at=now)


def stuck(conn: Connection, *, now: datetime) -> int:
    """Rows in sending whose lease ran out and was not taken back yet (is the sweeper running?)."""
    expired = leases.expired_tokens(now)
    query = select(func.count()).where(D.c.lease_token.in_(expired), D.c.status == DeliveryStatus.sending)
    return conn.scalar(query) or 0


def forget_reader(conn: Connection, subscriber_id: int) -> int:
    """Erasure: the reader's rows keep their outcome (edition figures stay true) and lose what could name them.

    Rows not sent yet are skipped. Deleting the subscriber afterwards unlinks the rows (ON DELETE SET NULL).
    Returns how many rows are kept.
    """
    mine = D.c.subscriber_id == subscriber_id
    kept = conn.execute(update(D).where(mine).values(smtp_reply=None, last_error=None, message_id=None)).rowcount
    conn.execute(update(D).where(mine, D.c.due_at.is_not(None))
                 .values(status=DeliveryStatus.skipped, due_at=None, last_error="reader erased"))
    return kept
