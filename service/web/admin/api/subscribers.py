"""Admin JSON API for readers: search, one reader's record and data, unsubscribe, delete, erase, CSV imports,
the suppression list."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service import lists as list_rules
from service.errors import InvalidInput
from service.models import as_utc
from service.subscribers import actions, detail, erasure, jobs, search
from service.suppressions import SuppressionRow
from service.web.admin.auth import CurrentAdmin
from service.web.admin.imports import progress_of, rejected_download, start_import
from service.web.admin.subscribers import LARGEST_ID, clean_query, clean_reason, clean_slug, data_download
from service.web.admin.suppressions import HASH_SHOWN
from service.web.common import client_ip, get_session
from service.web.openapi import ADMIN_ERRORS, REASONS, EmailAddress, ErrorBody

router = APIRouter()
Id = Annotated[int, Path(ge=1, le=LARGEST_ID)]
After = Annotated[int | None, Query(ge=1, le=LARGEST_ID, description="`next_after` of the previous page")]
Limit = Annotated[int, Query(ge=1, le=search.MAX_LIMIT)]
Address = EmailAddress
Reason = Annotated[str, Field(min_length=1, max_length=200, description="Why (kept in the audit log)")]
QUEUE_DOWN: dict[int | str, dict[str, Any]] = {503: {"model": ErrorBody, "description": REASONS[503]}}


class SubscriberRowOut(BaseModel):
    """One reader in a page of results."""

    id: int
    email: str
    name: str
    status: str
    lists: list[str]
    created_at: datetime


class SubscribersPage(BaseModel):
    """A page of readers, newest first; pass `next_after` as `after` for the next one (null: the last page)."""

    rows: list[SubscriberRowOut]
    next_after: int | None


class ConsentEventOut(BaseModel):
    """One step of a subscription's consent history."""

    action: str
    at: datetime
    ip: str | None
    user_agent: str | None
    source: str
    consent_text_version: str
    details: dict[str, Any]


class SubscriptionOut(BaseModel):
    """The reader's standing with one list and its consent record."""

    list_id: int
    list_slug: str
    list_name: str
    status: str
    subscribed_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    ip: str | None
    user_agent: str | None
    source: str
    consent_text_version: str
    events: list[ConsentEventOut]


class DeliveryOut(BaseModel):
    """One edition sent (or not) to the reader and what the SMTP server said."""

    edition_id: int
    edition_date: date
    list_slug: str
    status: str
    smtp_code: int | None
    smtp_reply: str | None
    failure_kind: str | None
    sent_at: datetime | None


class SuppressionInfoOut(BaseModel):
    """Whether the address may be mailed at all."""

    suppressed: bool
    reason: str | None
    since: datetime | None


class SubscriberOut(BaseModel):
    """Everything about one reader."""

    id: int
    email: str
    name: str
    timezone: str
    paused_until: datetime | None
    created_at: datetime
    subscriptions: list[SubscriptionOut]
    deliveries: list[DeliveryOut]
    suppression: SuppressionInfoOut


class UnsubscribeIn(BaseModel):
    """Which list to leave; null or absent: every list."""

    list: str | None = Field(default=None, max_length=64)


class Unsubscribed(BaseModel):
    """The lists the reader left now (empty: nothing was left to leave)."""

    changed: list[str]


class Deleted(BaseModel):
    """The reader that was erased."""

    deleted: int


class ErasedOut(BaseModel):
    """The reader whose personal data was erased; their delivery rows stay, anonymous, for the figures."""

    erased: int
    lists: list[str]
    deliveries_kept: int


class ImportOut(BaseModel):
    """An import job's progress and, when done, its report."""

    id: int
    status: str
    fraction: float
    label: str
    done: bool
    filename: str
    confirmed: bool
    rows: int
    added: int
    already: int
    kept_unsubscribed: int
    suppressed: int
    skipped: int
    rejected: list[tuple[int, str, str]] = Field(description="The first 1,000 rejected rows: [line, reason, the row "
                                                          "as the file had it (up to 300 characters)]")
    error: str | None


class SuppressionOut(BaseModel):
    """One suppressed address as kept: a hash prefix, why and since when."""

    id: int
    hash_prefix: str
    reason: str
    since: datetime


class SuppressionsPage(BaseModel):
    """Suppressions newest first; pass `next_after` as `after` for the next page."""

    rows: list[SuppressionOut]
    next_after: int | None


class SuppressionChange(BaseModel):
    """An address to add to or remove from the suppression list, and why."""

    address: Address
    reason: Reason


class Unsuppressed(BaseModel):
    """The address may be mailed again."""

    removed: bool


def _json(value: Any, status_code: int = 200) -> JSONResponse:
    """A dataclass (or a dict of them) as JSON, dates in ISO 8601."""
    def plain(item: Any) -> Any:
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return {f.name: plain(getattr(item, f.name)) for f in dataclasses.fields(item)}
        if isinstance(item, dict):
            return {key: plain(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [plain(inner) for inner in item]
        if isinstance(item, datetime):
            return as_utc(item).isoformat()  # SQLite hands back naive UTC: say so (RFC 3339 wants an offset)
        return item.isoformat() if isinstance(item, date) else item
    return JSONResponse(plain(value), status_code=status_code)


def _suppression(row: SuppressionRow) -> dict[str, Any]:
    """A suppression without its full hash."""
    return {"id": row.id, "hash_prefix": row.email_hash[:HASH_SHOWN], "reason": row.reason, "since": row.created_at}


@router.get("/subscribers", response_model=SubscribersPage, responses=ADMIN_ERRORS)
def get_subscribers(admin: CurrentAdmin, q: Annotated[str, Query(max_length=320)] = "",
                    list: Annotated[str | None, Query(max_length=64)] = None,
                    status: Annotated[str | None, Query(description=", ".join(search.STATUSES))] = None,
                    after: After = None, limit: Limit = 50, session: Session = Depends(get_session)):
    """Readers whose address or name contains `q`, on a list and in a status; keyset pages, nothing counted."""
    found = search.search_subscribers(session, query=clean_query(q), list_slug=clean_slug(list), status=status,
                                      after=after, limit=limit)
    return _json(found)


@router.get("/subscribers/{subscriber_id}", response_model=SubscriberOut, responses=ADMIN_ERRORS)
def get_subscriber(subscriber_id: Id, admin: CurrentAdmin, session: Session = Depends(get_session)):
    """One reader: lists and status, consent record, deliveries with SMTP replies, suppression."""
    return _json(detail.subscriber_detail(session, subscriber_id))


@router.post("/subscribers/{subscriber_id}/unsubscribe", response_model=Unsubscribed, responses=ADMIN_ERRORS)
def post_unsubscribe(subscriber_id: Id, request: Request, admin: CurrentAdmin, body: UnsubscribeIn | None = None,
                     session: Session = Depends(get_session)):
    """Unsubscribe the reader from one list, or all (audited; idempotent)."""
    slug = clean_slug(body.list if body else None)
    changed = actions.unsubscribe(session, subscriber_id, list_slug=slug, actor=admin.name, ip=client_ip(request))
    return {"changed": changed}


@router.delete("/subscribers/{subscriber_id}", response_model=Deleted, responses=ADMIN_ERRORS)
def delete_subscriber(subscriber_id: Id, request: Request, admin: CurrentAdmin,
                      session: Session = Depends(get_session)):
    """Erase the reader, their subscriptions, consent history and deliveries (audited)."""
    actions.delete_subscriber(session, subscriber_id, actor=admin.name, ip=client_ip(request))
    return {"deleted": subscriber_id}


@router.get("/subscribers/{subscriber_id}/data", response_model=dict[str, Any], responses=ADMIN_ERRORS)
def get_subscriber_data(subscriber_id: Id, request: Request, admin: CurrentAdmin,
                        session: Session = Depends(get_session)):
    """Everything held about the reader, as the JSON file a reader downloads from their preferences (audited)."""
    return data_download(request, session, admin.name, subscriber_id)


@router.post("/subscribers/{subscriber_id}/erase", response_model=ErasedOut, responses=ADMIN_ERRORS)
def post_erase(subscriber_id: Id, request: Request, admin: CurrentAdmin, session: Session = Depends(get_session)):
    """Erase the reader's personal data and suppress the address as a hash, so it is never mailed again (audited)."""
    erased = erasure.erase_subscriber(session, subscriber_id, actor=admin.name, ip=client_ip(request))
    return {"erased": erased.subscriber_id, "lists": erased.lists, "deliveries_kept": erased.deliveries_kept}


@router.post("/imports", status_code=202, response_model=ImportOut, responses={**ADMIN_ERRORS, **QUEUE_DOWN})
def post_import(request: Request, admin: CurrentAdmin, file: UploadFile = File(description="UTF-8 CSV with a header "
                                                                                      "row: email[, name, timezone]"),
                list: str = Form(max_length=64), confirmed: bool = Form(False),
                reason: str = Form("", max_length=2000), session: Session = Depends(get_session)):
    """Store the upload and queue its import; poll GET /api/admin/imports/{id}. Pre-confirmed needs a reason."""
    if not list_rules.SLUG.match(list):
        raise InvalidInput(f"There is no list called {list[:64]!r}.")
    job = start_import(request, session, admin, list_slug=list, upload=file, confirmed=confirmed,
                       reason=clean_reason(reason) if confirmed else "")
    return JSONResponse(progress_of(job), status_code=202)


@router.get("/imports/{job_id}", response_model=ImportOut, responses=ADMIN_ERRORS)
def get_import(job_id: Id, admin: CurrentAdmin, session: Session = Depends(get_session)):
    """An import's progress ({"fraction", "label", "done"} for the progress bar), its counts and rejected rows."""
    return JSONResponse(progress_of(jobs.get_import_job(session, job_id)))


@router.get("/imports/{job_id}/rejected.csv", response_class=Response, responses={
    **ADMIN_ERRORS, 200: {"content": {"text/csv": {}}, "description": "line,reason,row: one record per rejected row; "
                          "a cell that a spreadsheet would run as a formula starts with an apostrophe"}})
def get_import_rejected(job_id: Id, request: Request, admin: CurrentAdmin, session: Session = Depends(get_session)):
    """An import's rejected rows as CSV, with the reason for each (audited, like an export)."""
    return rejected_download(request, session, admin.name, job_id)


@router.get("/suppressions", response_model=SuppressionsPage, responses=ADMIN_ERRORS)
def get_suppressions(admin: CurrentAdmin, after: After = None, limit: Limit = 50,
                     session: Session = Depends(get_session)):
    """The suppression list, newest first (only hashes of addresses are kept)."""
    found = actions.suppressions_page(session, after=after, limit=limit)
    return _json({"rows": [_suppression(row) for row in found.rows], "next_after": found.next_after})


@router.post("/suppressions", status_code=201, response_model=SuppressionOut, responses=ADMIN_ERRORS)
def post_suppression(body: SuppressionChange, request: Request, admin: CurrentAdmin,
                     session: Session = Depends(get_session)):
    """Never mail this address again (idempotent, audited)."""
    row = actions.suppress_address(session, body.address, reason=clean_reason(body.reason), actor=admin.name,
                                   ip=client_ip(request))
    return _json(_suppression(row), status_code=201)


@router.delete("/suppressions", response_model=Unsuppressed, responses=ADMIN_ERRORS)
def delete_suppression(body: SuppressionChange, request: Request, admin: CurrentAdmin,
                       session: Session = Depends(get_session)):
    """Let a suppressed address be mailed again (audited); 422 when it was not suppressed."""
    actions.unsuppress_address(session, body.address, reason=clean_reason(body.reason), actor=admin.name,
                               ip=client_ip(request))
    return {"removed": True}
