"""Admin screen: find readers (keyset pages, no counts), one reader's record and data, unsubscribe, suppress, delete,
erase, export."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import StreamingResponse

from service.admin import audit
from service.core.db import session_factory
from service.core.errors import InvalidInput
from service.lists import rules as list_rules
from service.readers.subscribers import actions, detail, erasure, export, search
from service.web.admin.downloads import data_download
from service.web.admin.inputs import LARGEST_ID, clean_query, clean_reason, clean_slug
from service.web.admin.render import done, page
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep, SettingsDep

router = APIRouter(prefix="/admin")
PAGE_SIZE = 50


@router.get("/subscribers")
def subscribers_page(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    q: str = "",
    list: str = "",
    status: str = "",
    after: int | None = Query(None, ge=1, le=LARGEST_ID),
):
    """Search by address or name, filtered by list and status; "Next page" follows the keyset, nothing is counted."""
    query, slug = clean_query(q), clean_slug(list)
    found = search.search_subscribers(
        session, query=query, list_slug=slug, status=status or None, after=after, limit=PAGE_SIZE
    )
    filters = {"q": query, "list": slug or "", "status": status}
    next_url = f"/admin/subscribers?{urlencode({**filters, 'after': found.next_after})}" if found.next_after else None
    return page(
        request,
        "subscribers/index.html",
        title="Subscribers",
        found=found,
        filters=filters,
        next_url=next_url,
        first_page=after is None,
        lists=list_rules.lists_with_readers(session),
        statuses=search.STATUSES,
    )


@router.get("/subscribers/export")
def export_subscribers(
    request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep, list: str = "", status: str = ""
):
    """A list's readers (optionally in one status) as a CSV download, streamed; the export is audited."""
    slug = clean_slug(list)
    if slug is None:
        raise InvalidInput("Choose the list to export.")
    mailing_list = list_rules.get_list(session, slug)
    chosen = search.check_status(status)
    audit.record(
        session,
        actor=admin.name,
        action="subscribers.export",
        object_type="list",
        object_id=slug,
        details={"status": chosen},
        ip=client_ip(request),
    )
    session.commit()
    url = settings.effective_database_url
    filename = f"{mailing_list.slug}-{chosen or 'all'}.csv"
    return StreamingResponse(
        _csv(url, slug, chosen),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _csv(url: str, slug: str, status: str | None) -> Iterator[str]:
    """The export's lines from a session of its own, which lives as long as the download."""
    with session_factory(url)() as session:
        yield from export.export_csv(session, list_slug=slug, status=status)


@router.get("/subscribers/{subscriber_id}")
def subscriber_page(
    subscriber_id: int, request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep
):
    """One reader: lists and status, consent record, deliveries with SMTP replies, suppression; and the actions."""
    if not 0 < subscriber_id <= LARGEST_ID:
        raise InvalidInput("A subscriber id is a positive number.")
    reader = detail.subscriber_detail(session, subscriber_id)
    return page(
        request,
        "subscribers/detail.html",
        title=reader.email,
        reader=reader,
        retention_days=settings.delivery_retention_days,
    )


@router.post("/subscribers/{subscriber_id}/unsubscribe")
def unsubscribe(subscriber_id: int, request: Request, admin: CurrentAdmin, session: SessionDep, list: str = Form("")):
    """Unsubscribe the reader from one list, or from all (an empty choice)."""
    slug = clean_slug(list)
    changed = actions.unsubscribe(session, subscriber_id, list_slug=slug, actor=admin.name, ip=client_ip(request))
    notice = f"Unsubscribed from {', '.join(changed)}." if changed else "Nothing to change: already unsubscribed."
    return done(f"/admin/subscribers/{subscriber_id}", notice)


@router.post("/subscribers/{subscriber_id}/suppress")
def suppress(subscriber_id: int, request: Request, admin: CurrentAdmin, session: SessionDep, reason: str = Form("")):
    """Never mail this reader's address again, for a stated reason."""
    reader = detail.subscriber_detail(session, subscriber_id)
    actions.suppress_address(
        session, reader.email, reason=clean_reason(reason), actor=admin.name, ip=client_ip(request)
    )
    return done(f"/admin/subscribers/{subscriber_id}", "The address is suppressed: nothing will be sent to it.")


@router.post("/subscribers/{subscriber_id}/delete")
def delete(subscriber_id: int, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Erase the reader and everything stored about them."""
    actions.delete_subscriber(session, subscriber_id, actor=admin.name, ip=client_ip(request))
    return done("/admin/subscribers", f"Deleted subscriber {subscriber_id} and their history.")


@router.get("/subscribers/{subscriber_id}/data")
def download_data(
    subscriber_id: int, request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep
):
    """Everything held about the reader as a JSON download (an access request); audited."""
    return data_download(request, session, settings, admin.name, subscriber_id)


@router.post("/subscribers/{subscriber_id}/erase")
def erase(subscriber_id: int, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Erase the reader's personal data; a hashed suppression keeps the address from ever being mailed again."""
    erased = erasure.erase_subscriber(session, subscriber_id, actor=admin.name, ip=client_ip(request))
    return done(
        "/admin/subscribers",
        f"Erased subscriber {subscriber_id}: {erased.deliveries_kept} deliveries kept "
        "without the reader, the address suppressed as a hash.",
    )
