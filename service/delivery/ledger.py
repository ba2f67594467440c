"""The ledger: one row per (edition, subscriber) says whether that email went out. SQL lives here.

Rows move pending -> sending (claimed under a lease) -> sent | failed | skipped; a temporary failure
goes back to pending with a later not_before. Every change to a claimed row checks its lease token,
so a worker whose lease was taken back can never overwrite what another worker recorded.

A pending row carries `due_at` (its not_before), and only pending rows are in the claim index; any
other state has due_at NULL. Leases live in their own table (service.delivery.leases). So recording an
outcome, the write made once per message, changes no indexed column. Planning the rows is in
service.delivery.planning, reading their state in service.delivery.ledger_status.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Select, Table, bindparam, or_, select, update
from sqlalchemy.engine import Connection

from service.bounces.policy import FailureKind
from service.delivery import leases, prepared
from service.models import Delivery, DeliveryStatus

D = cast(Table, Delivery.__table__)  # typed FromClause; a model with __tablename__ maps a Table


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


def claim(
    conn: Connection, *, edition_id: int, limit: int, now: datetime, lease_seconds: int
) -> tuple[str, list[Claimed]]:
    """Take up to `limit` due pending rows under a fresh lease (call in a transaction: rows and lease together)."""
    token = secrets.token_hex(16)
    due = select(D.c.id).where(D.c.edition_id == edition_id, D.c.due_at <= now).order_by(D.c.due_at).limit(limit)
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
    .values(
        status=bindparam("status"),
        smtp_code=bindparam("smtp_code"),
        smtp_reply=bindparam("smtp_reply"),
        failure_kind=bindparam("failure_kind"),
        message_id=bindparam("message_id"),
        sent_at=bindparam("sent_at"),
        last_error=bindparam("last_error"),
    )  # no indexed column: a HOT update
)
_RETRY = (
    update(D)
    .where(D.c.id == bindparam("row_id"), D.c.lease_token == bindparam("token"), D.c.status == DeliveryStatus.sending)
    .values(
        status=DeliveryStatus.pending,
        not_before=bindparam("retry_at"),
        due_at=bindparam("retry_at"),
        smtp_code=bindparam("smtp_code"),
        smtp_reply=bindparam("smtp_reply"),
        last_error=bindparam("last_error"),
        lease_token=None,
    )
)


def record(conn: Connection, *, token: str, delivery_id: int, outcome: Outcome) -> bool:
    """Store one message's outcome; False when the lease was lost (another worker owns the row now)."""
    return start_record(conn, token=token, delivery_id=delivery_id, outcome=outcome)() == 1


def start_record(conn: Connection, *, token: str, delivery_id: int, outcome: Outcome) -> prepared.Answer:
    """Send one message's outcome without waiting: call the answer (rows changed, 1 or 0) before the next send.

    The drain builds the next message while PostgreSQL commits this one; nothing else may use the
    connection until the answer has been read.
    """
    common = {
        "row_id": delivery_id,
        "token": token,
        "smtp_code": outcome.smtp_code,
        "smtp_reply": _clip(outcome.smtp_reply),
        "last_error": _clip(outcome.error),
    }
    if outcome.status == DeliveryStatus.pending:
        return prepared.start(conn, _RETRY, {**common, "retry_at": outcome.retry_at})
    kind = None if outcome.failure_kind is None else str(outcome.failure_kind)  # a FailureKind, stored as its value
    return prepared.start(
        conn,
        _RECORD,
        {
            **common,
            "status": outcome.status,
            "failure_kind": kind,
            "message_id": outcome.message_id,
            "sent_at": outcome.sent_at,
        },
    )


def release(conn: Connection, *, token: str, delivery_ids: Sequence[int], retry_at: datetime, error: str) -> int:
    """Give claimed rows back untouched (the SMTP server is unreachable): pending again, later."""
    if not delivery_ids:
        return 0
    statement = (
        update(D)
        .where(D.c.lease_token == token, D.c.status == DeliveryStatus.sending, D.c.id.in_(list(delivery_ids)))
        .values(
            status=DeliveryStatus.pending,
            not_before=retry_at,
            due_at=retry_at,
            last_error=_clip(error),
            lease_token=None,
            attempts=D.c.attempts - 1,
        )
    )
    return conn.execute(statement).rowcount


def take_back_expired(conn: Connection, *, now: datetime, edition_id: int | None = None) -> int:
    """Rows whose worker stopped (its lease ran out) become pending again, due at once (in the caller's transaction)."""
    tokens = leases.take_expired(conn, now=now, edition_id=edition_id)
    if not tokens:
        return 0
    statement = (
        update(D)
        .where(D.c.lease_token.in_(tokens), D.c.status == DeliveryStatus.sending)
        .values(
            status=DeliveryStatus.pending,
            due_at=now,
            lease_token=None,
            last_error="lease expired: the worker stopped before recording an outcome",
        )
    )
    return conn.execute(statement).rowcount


def expire_open(conn: Connection, *, edition_id: int, now: datetime) -> int:
    """Past the edition's expiry, what is still pending is failed: a daily edition is not sent days late."""
    statement = (
        update(D)
        .where(D.c.edition_id == edition_id, D.c.due_at.is_not(None))
        .values(
            status=DeliveryStatus.failed,
            due_at=None,
            failure_kind=FailureKind.expired.value,
            sent_at=None,
            last_error=f"not delivered before the edition expired at {now.isoformat()}",
        )
    )
    return conn.execute(statement).rowcount


def cancel_pending(conn: Connection, *, editions: int | Select[tuple[int]]) -> int:
    """Nothing pending is sent any more: an admin's cancel of one edition (rows being sent finish normally), and the
    sweeper's for rows that came back to pending after their edition was cancelled (a 4xx, an outage, a stopped worker).
    """
    which = D.c.edition_id == editions if isinstance(editions, int) else D.c.edition_id.in_(editions)
    statement = update(D).where(which, D.c.due_at.is_not(None)).values(status=DeliveryStatus.cancelled, due_at=None)
    return conn.execute(statement).rowcount


def reopen_failed(
    conn: Connection, *, edition_id: int, keep_failed: Sequence[str], now: datetime, only: str | None = None
) -> int:
    """An admin's "retry failed": failed rows (of one kind, if `only`) go back to pending, but never `keep_failed`."""
    kinds = or_(D.c.failure_kind.is_(None), D.c.failure_kind.not_in(list(keep_failed)))
    statement = (
        update(D)
        .where(
            D.c.edition_id == edition_id,
            D.c.status == DeliveryStatus.failed,
            kinds if only is None else D.c.failure_kind == only,
        )
        .values(
            status=DeliveryStatus.pending, not_before=now, due_at=now, attempts=0, failure_kind=None, lease_token=None
        )
    )
    return conn.execute(statement).rowcount


def _clip(text: str | None, limit: int = 1000) -> str | None:
    """Replies and errors are stored for people to read; they must fit their column."""
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


def forget_reader(conn: Connection, subscriber_id: int) -> int:
    """Erasure: the reader's rows keep their outcome (edition figures stay true) and lose what could name them.

    Rows not sent yet are skipped. Deleting the subscriber afterwards unlinks the rows (ON DELETE SET NULL).
    Returns how many rows are kept.
    """
    mine = D.c.subscriber_id == subscriber_id
    kept = conn.execute(update(D).where(mine).values(smtp_reply=None, last_error=None, message_id=None)).rowcount
    conn.execute(
        update(D)
        .where(mine, D.c.due_at.is_not(None))
        .values(status=DeliveryStatus.skipped, due_at=None, last_error="reader erased")
    )
    return kept
