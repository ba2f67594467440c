"""Admin screen: the suppression list (hashes, reasons, dates; look up, add, remove) and held bounce reports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from sqlalchemy.orm import Session

from service.bounces import store as bounce_store
from service.core.errors import InvalidInput, UnknownPage
from service.readers.subscribers import actions
from service.web.admin.inputs import LARGEST_ID, clean_reason
from service.web.admin.render import HASH_SHOWN, done, page
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep

router = APIRouter(prefix="/admin")
HELD_SHOWN = 20  # held bounce reports per page


def _page(
    request: Request,
    session: Session,
    *,
    after: int | None = None,
    held_before: int | None = None,
    status_code: int = 200,
    **context: Any,
):
    """The list page, with whatever a lookup or a mistake left to show."""
    found = actions.suppressions_page(session, after=after, limit=50)
    next_url = f"/admin/suppressions?after={found.next_after}" if found.next_after else None
    context["held"] = bounce_store.held(session, before=held_before, limit=HELD_SHOWN)
    context.setdefault("values", {"address": "", "reason": ""})
    context.setdefault("errors", {})
    return page(
        request,
        "suppressions/index.html",
        status_code,
        title="Suppressions",
        found=found,
        next_url=next_url,
        first_page=after is None,
        hash_shown=HASH_SHOWN,
        **context,
    )


@router.get("/suppressions")
def suppressions_page(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    after: int | None = Query(None, ge=1, le=LARGEST_ID),
    held_before: int | None = Query(None, ge=1, le=LARGEST_ID),
):
    """Newest first; only hashes are kept, so rows show a hash prefix, the reason and since when."""
    return _page(request, session, after=after, held_before=held_before)


@router.get("/suppressions/held/{bounce_id}")
def held_report(
    request: Request, admin: CurrentAdmin, session: SessionDep, bounce_id: int = PathParam(ge=1, le=LARGEST_ID)
):
    """One held report as it came in, so a person can judge it (and suppress by hand if it is real)."""
    found = bounce_store.held_one(session, bounce_id)
    if found is None:
        raise UnknownPage("No bounce report held for review has this id.")
    row, raw = found
    return page(request, "suppressions/held.html", title=f"Held report {row.id}", row=row, raw=raw or "")


@router.post("/suppressions/lookup")
def lookup(request: Request, admin: CurrentAdmin, session: SessionDep, address: str = Form("")):
    """Is this address suppressed, and why? (A POST keeps the address out of URLs and access logs.)"""
    try:
        found = actions.lookup_suppression(session, address)
    except InvalidInput as error:
        return _page(request, session, status_code=422, lookup_address=address, errors={"lookup": error.message})
    return _page(request, session, lookup_address=address, lookup_result=found, looked_up=True)


@router.post("/suppressions")
def add(request: Request, admin: CurrentAdmin, session: SessionDep, address: str = Form(""), reason: str = Form("")):
    """Never mail this address again, for a stated reason (audited)."""
    try:
        actions.suppress_address(session, address, reason=clean_reason(reason), actor=admin.name, ip=client_ip(request))
    except InvalidInput as error:
        session.rollback()
        return _page(
            request,
            session,
            status_code=422,
            values={"address": address, "reason": reason},
            errors={"add": error.message},
        )
    return done("/admin/suppressions", "Suppressed: nothing will be sent to that address.")


@router.post("/suppressions/remove")
def remove(request: Request, admin: CurrentAdmin, session: SessionDep, address: str = Form(""), reason: str = Form("")):
    """Let a suppressed address be mailed again, for a stated reason (audited)."""
    try:
        actions.unsuppress_address(
            session, address, reason=clean_reason(reason), actor=admin.name, ip=client_ip(request)
        )
    except InvalidInput as error:
        session.rollback()
        return _page(
            request,
            session,
            status_code=422,
            remove_values={"address": address, "reason": reason},
            errors={"remove": error.message},
        )
    return done("/admin/suppressions", "Removed from the suppression list: the address may be mailed again.")
