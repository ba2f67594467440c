"""The audit log: who did what to which object, and when. SQL for the audit_log table lives here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.admin.models import AuditEntry
from service.models import utcnow


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str = "",
    object_id: object = "",
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Add one entry in the caller's transaction, so the change and its record commit (or fail) together."""
    entry = AuditEntry(
        at=utcnow(),
        actor=actor[:400],
        action=action[:64],
        object_type=object_type[:32],
        object_id=str(object_id)[:64],
        details=details or {},
        ip=ip,
    )
    session.add(entry)
    return entry


def recent(
    session: Session,
    *,
    limit: int = 50,
    before_id: int | None = None,
    object_type: str | None = None,
    object_id: object | None = None,
    actor: str | None = None,
) -> list[AuditEntry]:
    """Newest first, a page at a time (keyset on id), optionally about one object or by one actor."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    if object_type is not None:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == str(object_id))
    return list(session.scalars(query))
