"""The suppression list: addresses never to be mailed again, kept only as hashes. SQL for it lives here.

Every function takes a Session or a Connection (both execute Core statements), so the web rules,
the transactional tasks and the bulk sender share one implementation.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from service.addresses import address_hash
from service.db import insert_ignoring
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
