"""Admin JSON API for readers: search, one reader's record and data, unsubscribe, delete, erase (imports.py and
suppressions.py hold the rest)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from service.readers.subscribers import actions, detail, erasure, search
from service.web.admin.api.common import After, Id, Limit, json_response
from service.web.admin.downloads import data_download
from service.web.admin.inputs import clean_query, clean_slug
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep, SettingsDep
from service.web.openapi import ADMIN_ERRORS

router = APIRouter()


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


@router.get("/subscribers", response_model=SubscribersPage, responses=ADMIN_ERRORS)
def get_subscribers(
    admin: CurrentAdmin,
    session: SessionDep,
    q: Annotated[str, Query(max_length=320)] = "",
    list: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(description=", ".join(search.STATUSES))] = None,
    after: After = None,
    limit: Limit = 50,
):
    """Readers whose address or name contains `q`, on a list and in a status; keyset pages, nothing counted."""
    found = search.search_subscribers(
        session, query=clean_query(q), list_slug=clean_slug(list), status=status, after=after, limit=limit
    )
    return json_response(found)


@router.get("/subscribers/{subscriber_id}", response_model=SubscriberOut, responses=ADMIN_ERRORS)
def get_subscriber(subscriber_id: Id, admin: CurrentAdmin, session: SessionDep):
    """One reader: lists and status, consent record, deliveries with SMTP replies, suppression."""
    return json_response(detail.subscriber_detail(session, subscriber_id))


@router.post("/subscribers/{subscriber_id}/unsubscribe", response_model=Unsubscribed, responses=ADMIN_ERRORS)
def post_unsubscribe(
    subscriber_id: Id, request: Request, admin: CurrentAdmin, session: SessionDep, body: UnsubscribeIn | None = None
):
    """Unsubscribe the reader from one list, or all (audited; idempotent)."""
    slug = clean_slug(body.list if body else None)
    changed = actions.unsubscribe(session, subscriber_id, list_slug=slug, actor=admin.name, ip=client_ip(request))
    return {"changed": changed}


@router.delete("/subscribers/{subscriber_id}", response_model=Deleted, responses=ADMIN_ERRORS)
def delete_subscriber(subscriber_id: Id, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Erase the reader, their subscriptions, consent history and deliveries (audited)."""
    actions.delete_subscriber(session, subscriber_id, actor=admin.name, ip=client_ip(request))
    return {"deleted": subscriber_id}


@router.get("/subscribers/{subscriber_id}/data", response_model=dict[str, Any], responses=ADMIN_ERRORS)
def get_subscriber_data(
    subscriber_id: Id, request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep
):
    """Everything held about the reader, as the JSON file a reader downloads from their preferences (audited)."""
    return data_download(request, session, settings, admin.name, subscriber_id)


@router.post("/subscribers/{subscriber_id}/erase", response_model=ErasedOut, responses=ADMIN_ERRORS)
def post_erase(subscriber_id: Id, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Erase the reader's personal data and suppress the address as a hash, so it is never mailed again (audited)."""
    erased = erasure.erase_subscriber(session, subscriber_id, actor=admin.name, ip=client_ip(request))
    return {"erased": erased.subscriber_id, "lists": erased.lists, "deliveries_kept": erased.deliveries_kept}
