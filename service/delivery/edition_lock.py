"""The edition row lock that every change of an edition's sending status takes first, on both databases."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Row, Table, select, update
from sqlalchemy.engine import Connection

from service.models import Edition

E = cast(Table, Edition.__table__)  # typed FromClause; a model with __tablename__ maps a Table


def lock_edition(conn: Connection, edition_id: int) -> Row | None:
    """Lock the edition row for the caller's transaction; read fresh: send_status, send_expires_at, completed_at.

    Retry, cancel, completion, counting and prune each read the status and then act on it; holding this lock
    between the two keeps another of them from changing it in the gap. PostgreSQL locks the row FOR NO KEY UPDATE
    (the statements after it see what the holder before committed; a claim's lease, whose foreign key takes KEY
    SHARE on the row, is not held up). SQLite ignores row locks and begins a transaction only at its first write,
    so a write that changes nothing (send_status to itself: no key, so no foreign-key checks) takes its one write
    lock first, and the read is current.
    """
    if conn.dialect.name == "sqlite":
        conn.execute(update(E).where(E.c.id == edition_id).values(send_status=E.c.send_status))
    query = select(E.c.send_status, E.c.send_expires_at, E.c.completed_at).where(E.c.id == edition_id)
    return conn.execute(query.with_for_update(key_share=True)).first()
