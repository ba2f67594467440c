"""Admin screen: the audit log — who did what to which object, newest first, filtered by object or actor."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request

from service.admin import audit
from service.web.admin.inputs import LARGEST_ENTRY, audit_filters
from service.web.admin.render import page
from service.web.deps import CurrentAdmin, SessionDep

router = APIRouter(prefix="/admin")
PAGE_SIZE = 50


def entry_cursor(raw: str | None) -> int | None:
    """The `before` of a page link: an entry id; anything else starts at the newest."""
    text = (raw or "").strip()
    return min(int(text), LARGEST_ENTRY) if text.isascii() and text.isdigit() and len(text) < 25 else None


@router.get("/audit")
def audit_page(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    before: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    actor: str | None = None,
):
    """A page of entries, newest first; `before` continues after the last one shown."""
    filters = audit_filters(object_type, object_id, actor)
    entries = audit.recent(session, limit=PAGE_SIZE + 1, before_id=entry_cursor(before), **filters)
    more, entries = len(entries) > PAGE_SIZE, entries[:PAGE_SIZE]
    next_url = f"/admin/audit?{urlencode({**filters, 'before': entries[-1].id})}" if more else None
    return page(
        request,
        "audit/index.html",
        title="Audit log",
        entries=entries,
        filters=filters,
        next_url=next_url,
        paged=entry_cursor(before) is not None,
    )
