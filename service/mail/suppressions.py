"""The suppression list: addresses never to be mailed again, kept only as hashes. SQL for it lives here.

Every function takes a Session or a Connection (both execute Core statements), so the web rules,
the transactional tasks and the bulk sender share one implementation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from service.core.addresses import address_hash
from service.core.db import insert_ignoring
from service.models import Suppression, utcnow


def is_suppressed(db: Session | Connection, email: str) -> bool:
    """True when the normalised address must never be mailed."""
    return db.scalar(select(Suppression.id).where(Suppression.email_hash == address_hash(email))) is not None


def suppressed_among(db: Session | Connection, emails: Iterable[str]) -> set[str]:
    """The hashes of those addresses that are suppressed: one query for a whole batch of readers."""
    hashes = {address_hash(email) for email in emails}
    if not hashes:
        return set()
    return set(db.scalars(select(Suppression.email_hash).where(Suppression.email_hash.in_(hashes))))


def suppress(db: Session | Connection, email: str, reason: str) -> None:
    """Add an address (idempotent, also when two workers bounce the same address at once)."""
    statement = insert_ignoring(db, cast(Table, Suppression.__table__), ["email_hash"])  # typed FromClause
    db.execute(statement, [{"email_hash": address_hash(email), "reason": reason[:200], "created_at": utcnow()}])


@dataclass(frozen=True)
class SuppressionRow:
    """One suppressed address as we keep it: only its hash, why and since when."""

    id: int
    email_hash: str
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class SuppressionPage:
    """Suppressions newest first; pass `next_after` as `after` for the next page (None: this is the last)."""

    rows: list[SuppressionRow]
    next_after: int | None


def _row(suppression: Suppression) -> SuppressionRow:
    """The plain record of a row."""
    return SuppressionRow(
        id=suppression.id,
        email_hash=suppression.email_hash,
        reason=suppression.reason,
        created_at=suppression.created_at,
    )


def lookup(session: Session, email: str) -> SuppressionRow | None:
    """The suppression of a normalised address, if it has one."""
    found = session.scalar(select(Suppression).where(Suppression.email_hash == address_hash(email)))
    return _row(found) if found else None


def page(session: Session, *, after: int | None = None, limit: int = 50) -> SuppressionPage:
    """A keyset page on id, newest first."""
    query = select(Suppression).order_by(Suppression.id.desc()).limit(limit + 1)
    if after is not None:
        query = query.where(Suppression.id < after)
    rows = [_row(found) for found in session.scalars(query)]
    more = len(rows) > limit
    rows = rows[:limit]
    return SuppressionPage(rows=rows, next_after=rows[-1].id if more and rows else None)


def unsuppress(db: Session | Connection, email: str) -> bool:
    """Let a normalised address be mailed again; False when it was not suppressed."""
    result = db.execute(delete(Suppression).where(Suppression.email_hash == address_hash(email)))
    return bool(getattr(result, "rowcount", 0))


def suppress_because(db: Session | Connection, email: str, reason: str) -> None:
    """Suppress with exactly this reason, replacing an earlier one (an erased reader's old reason may quote them)."""
    suppress(db, email, reason)
    db.execute(update(Suppression).where(Suppression.email_hash == address_hash(email)).values(reason=reason[:200]))
