"""Leases: which worker holds which claimed ledger rows, and until when. SQL for delivery_leases lives here.

A lease is one row per claimed batch, not a timestamp on every delivery row. Renewing it writes one row,
the sweeper finds expired ones without reading the ledger, and recording a message's outcome changes no
indexed column of its delivery row (PostgreSQL can update it in place: a HOT update).
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import ForeignKey, Select, String, Table, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from service.models import Base


class DeliveryLease(Base):
    """A batch of ledger rows in `sending`, held by one worker until `expires_at` unless renewed."""

    __tablename__ = "delivery_leases"

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


L = cast(Table, DeliveryLease.__table__)


def open_lease(conn: Connection, *, token: str, edition_id: int, expires_at: datetime) -> None:
    """Write the lease before claiming rows under it, so no claimed row is ever without one."""
    conn.execute(insert(L).values(token=token, edition_id=edition_id, expires_at=expires_at))


def renew(conn: Connection, *, token: str, until: datetime) -> bool:
    """Push the lease's end further; False once the sweeper has taken it back."""
    return conn.execute(update(L).where(L.c.token == token).values(expires_at=until)).rowcount == 1


def close(conn: Connection, *, token: str) -> None:
    """The batch is done (every row recorded or given back): the lease goes."""
    conn.execute(delete(L).where(L.c.token == token))


def take_expired(conn: Connection, *, now: datetime, edition_id: int | None = None) -> list[str]:
    """Remove run-out leases (of one edition, or all) in one DELETE .. RETURNING; their tokens, for the rows."""
    statement = delete(L).where(L.c.expires_at < now)
    if edition_id is not None:
        statement = statement.where(L.c.edition_id == edition_id)
    return list(conn.scalars(statement.returning(L.c.token)))


def held_query(edition_id: int) -> Select:
    """The leases that hold rows of an edition, as a query to combine into one statement."""
    return select(L.c.token).where(L.c.edition_id == edition_id)


def held_for(conn: Connection, edition_id: int, *, live_at: datetime | None = None) -> bool:
    """Whether any lease (one still running at `live_at`, when given) holds rows of this edition."""
    query = held_query(edition_id)
    if live_at is not None:
        query = query.where(L.c.expires_at >= live_at)
    return conn.scalar(query.limit(1)) is not None


def earliest_end(conn: Connection, edition_id: int) -> datetime | None:
    """When the first of an edition's leases runs out (a drain with nothing to claim waits for it at most)."""
    end: datetime | None = conn.scalar(select(func.min(L.c.expires_at)).where(L.c.edition_id == edition_id))
    return end


def expired_tokens(now: datetime) -> Select:
    """The tokens of leases that have run out, as a subquery."""
    return select(L.c.token).where(L.c.expires_at < now)
