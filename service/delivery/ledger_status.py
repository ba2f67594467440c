"""What the ledger says without changing it: rows per status, and whether an edition's work is open, due or stuck."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, exists, func, or_, select
from sqlalchemy.engine import Connection

from service.bounces.policy import FailureKind
from service.delivery import leases
from service.models import Delivery, DeliveryStatus

D = cast(Table, Delivery.__table__)  # typed FromClause; a model with __tablename__ maps a Table


def counts(conn: Connection, edition_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Rows per status for each edition: the numbers `editions status` and monitoring show."""
    result: dict[int, dict[str, int]] = {edition_id: {} for edition_id in edition_ids}
    if not edition_ids:
        return result
    query = (
        select(D.c.edition_id, D.c.status, func.count())
        .where(D.c.edition_id.in_(list(edition_ids)))
        .group_by(D.c.edition_id, D.c.status)
    )
    for edition_id, status, number in conn.execute(query):
        result[edition_id][status] = number
    policy = D.c.failure_kind == FailureKind.policy.value
    flagged = (
        select(D.c.edition_id, func.count())
        .where(D.c.edition_id.in_(list(edition_ids)), policy)
        .group_by(D.c.edition_id)
    )
    for edition_id, number in conn.execute(flagged):
        result[edition_id]["policy"] = number  # 5.7.x refusals: the sending setup needs a look, not the reader
    return result


def row_count(conn: Connection, edition_id: int) -> int:
    """How many ledger rows an edition has (what a prune would delete)."""
    return conn.scalar(select(func.count()).where(D.c.edition_id == edition_id)) or 0


def open_work(edition_id: int) -> ColumnElement[bool]:
    """True while a row is pending or a lease holds rows in sending: an edition with none of either is complete."""
    pending = select(D.c.id).where(D.c.edition_id == edition_id, D.c.due_at.is_not(None))
    return or_(exists(pending), leases.held_query(edition_id).exists())


def has_open(conn: Connection, edition_id: int) -> bool:
    """Whether the edition still has work (one statement, one view)."""
    return bool(conn.scalar(select(open_work(edition_id))))


def has_due(conn: Connection, edition_id: int, now: datetime) -> bool:
    """Whether a drain would find work right now."""
    query = select(D.c.id).where(and_(D.c.edition_id == edition_id, D.c.due_at <= now)).limit(1)
    return conn.scalar(query) is not None


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
