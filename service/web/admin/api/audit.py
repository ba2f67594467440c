"""Admin JSON API for the audit log: newest first, a page at a time, filtered by object or actor."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from service.admin import audit
from service.models import as_utc
from service.web.admin.inputs import LARGEST_ENTRY, audit_filters
from service.web.deps import SessionDep
from service.web.openapi import ADMIN_ERRORS

router = APIRouter()
READ_ERRORS: dict[int | str, dict[str, Any]] = {code: ADMIN_ERRORS[code] for code in (400, 401, 403, 422, 429)}


class AuditEntryOut(BaseModel):
    """Who did what to which object, when and from where."""

    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    details: dict[str, Any]
    ip: str | None


class AuditPage(BaseModel):
    """One page of entries; pass next_before as `before` for the next (null: this was the last)."""

    entries: list[AuditEntryOut]
    next_before: int | None


@router.get("/audit", response_model=AuditPage, responses=READ_ERRORS)
def audit_log(
    session: SessionDep,
    before: int | None = Query(None, ge=1, le=LARGEST_ENTRY, description="Entries older than this id"),
    limit: int = Query(50, ge=1, le=500),
    object_type: str | None = Query(None, max_length=32, description="e.g. story, feed, token, admin"),
    object_id: str | None = Query(None, max_length=64),
    actor: str | None = Query(None, max_length=400, description="e.g. ann@example.org or token:deploy bot"),
):
    """Newest first, keyset paging on the entry id."""
    filters = audit_filters(object_type, object_id, actor)
    rows = audit.recent(session, limit=limit + 1, before_id=before, **filters)
    more, rows = len(rows) > limit, rows[:limit]
    entries = [
        AuditEntryOut(
            id=row.id,
            at=as_utc(row.at),
            actor=row.actor,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            details=row.details or {},
            ip=row.ip,
        )
        for row in rows
    ]
    return AuditPage(entries=entries, next_before=rows[-1].id if more else None)
