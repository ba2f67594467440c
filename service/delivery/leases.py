"""Leases: which worker holds which claimed ledger rows, and until when. SQL for delivery_leases lives here.

A lease is one row per claimed batch, not a timestamp on every delivery row. Renewing it writes one row,
the sweeper finds expired ones without reading the ledger, and recording a message's outcome changes no
indexed column of its delivery row (PostgreSQL can update it in place: a HOT update).
"""
from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import ForeignKey, String, Table, delete, insert, select, update
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


def take_expired(conn: Connection, *, now: datetime) -> list[str]:
    """Remove the leases whose worker stopped renewing them; their tokens, for the rows to be taken back.

    One DELETE .. RETURNING: a lease renewed at the same moment is either renewed (and kept) or gone.
    Call it inside the transaction that takes the rows back, so no row is left in sending without a lease.
    """
    statement = delete(L).where(L.c.expires_at < now).returning(L.c.token)
    return list(conn.scalars(statement))


def held_for(conn: Connection, edition_id: int, *, live_at: datetime | None = None) -> bool:
    """Whether any lease (one still running at `live_at`, when given) holds rows of this edition."""
    query = select(L.c.token).where(L.c.edition_id == edition_id)
    if live_at is not None:
        query = query.where(L.c.expires_at >= live_at)
    return conn.scalar(query.limit(1)) is not None
