"""Planning an edition's ledger rows: who gets it when it starts, and who still may when their row is sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.engine import Connection

from service.core.addresses import address_hash
from service.core.db import insert_ignoring
from service.mail.suppressions import suppressed_among
from service.models import Delivery, DeliveryStatus, Subscriber, Subscription, SubscriptionStatus, as_utc

D = cast(Table, Delivery.__table__)  # typed FromClause; a model with __tablename__ maps a Table
PLAN_BATCH = 5000


def _audience(list_id: int, now: datetime, after_id: int):
    """The next batch of the list's confirmed, unpaused readers (suppressions are checked per batch)."""
    return (
        select(Subscriber.id, Subscriber.email, Subscriber.timezone)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(
            Subscription.list_id == list_id,
            Subscription.status == SubscriptionStatus.confirmed,
            or_(Subscriber.paused_until.is_(None), Subscriber.paused_until <= now),
            Subscriber.id > after_id,
        )
        .order_by(Subscriber.id)
        .limit(PLAN_BATCH)
    )


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
        rows = [
            {
                "edition_id": edition_id,
                "subscriber_id": row.id,
                "status": DeliveryStatus.pending,
                "not_before": moment,
                "due_at": moment,
                "attempts": 0,
            }
            for row in batch
            if address_hash(row.email) not in blocked
            for moment in (send_at(row.timezone),)
        ]
        if rows:
            conn.execute(insert_ignoring(conn, D, ["edition_id", "subscriber_id"]), rows)
            planned += len(rows)


def readers(conn: Connection, *, list_id: int, subscriber_ids: Sequence[int], now: datetime) -> dict[int, tuple]:
    """For claimed rows: (email, name, reason to skip or None), read again at send time.

    A reader who unsubscribed, paused or was suppressed after planning is skipped, not mailed.
    """
    rows = conn.execute(
        select(Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.paused_until, Subscription.status)
        .join(
            Subscription,
            and_(Subscription.subscriber_id == Subscriber.id, Subscription.list_id == list_id),
            isouter=True,
        )
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
