"""Admin screen: the audit log — who did what to which object, newest first, filtered by object or actor."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request

from service.admin import audit
from service.core.errors import InvalidInput
from service.web.admin.render import page
from service.web.deps import CurrentAdmin, SessionDep

router = APIRouter(prefix="/admin")
PAGE_SIZE = 50
LARGEST_ENTRY = 2**63 - 1  # audit_log.id is a BIGINT


def audit_filters(object_type: str | None, object_id: str | None, actor: str | None) -> dict[str, str]:
    """The filters that were given, trimmed; text that no entry can hold (NUL, too long) is refused."""
    given = {"object_type": object_type, "object_id": object_id, "actor": actor}
    limits = {"object_type": 32, "object_id": 64, "actor": 400}
    filters = {}
    for key, value in given.items():
        value = (value or "").strip()
        if value and (len(value) > limits[key] or not value.isprintable()):
            raise InvalidInput(f"{key}: at most {limits[key]} printable characters.")
        if value:
            filters[key] = value
    return filters


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
