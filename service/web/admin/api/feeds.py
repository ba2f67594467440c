"""Admin JSON API for feeds: list with each one's last error, add, change, delete and poll one now."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from service.admin import audit
from service.models import Feed, as_utc, utcnow
from service.stories.feeds import intake as feed_rules
from service.stories.feeds.status import freshness, publisher_of
from service.stories.items import clusterer_from
from service.web.admin.auth import readable_by_viewers
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep, SettingsDep
from service.web.openapi import ADMIN_ERRORS, REASONS, ErrorBody

router = APIRouter()
READ_ERRORS: dict[int | str, dict[str, Any]] = {code: ADMIN_ERRORS[code] for code in (400, 401, 403, 429)}
NO_FEED: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": REASONS[404]}}


class FeedOut(BaseModel):
    """A feed and what its last poll saw."""

    id: int
    url: str
    category: str
    title: str
    publisher: str | None = Field(description="the name an admin set, overriding site_name; null: none set")
    site_name: str | None = Field(description="the publisher's name the feed gives (its title cleaned, or its host)")
    publisher_name: str = Field(description="what its items without their own <source> show readers")
    newest_item_at: datetime | None = Field(description="when its newest item came out (undated: first seen)")
    stale: bool = Field(
        description="nothing newer than FEED_STALE_DAYS days (counted from its registration while it has no items)"
    )
    last_polled_at: datetime | None
    last_status: str = Field(description="new, ok, partial (some items skipped), not_modified or error")
    last_error: str | None
    consecutive_failures: int
    created_at: datetime


class FeedIn(BaseModel):
    """A feed to add, or a feed's new settings."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="http:// or https:// address of an RSS 2.0 or Atom feed")
    category: str = Field(default="World News", max_length=100)
    publisher: str | None = Field(
        default=None,
        max_length=300,
        description="the publisher's name its items show "
        "(null or empty: the name the feed gives); stored items follow a change",
    )


class PollOut(BaseModel):
    """What one poll did; the feed's row keeps the same status and error."""

    feed: FeedOut
    status: str
    new_items: int
    seen_before: int
    error: str | None


def feed_out(feed: Feed, stale_days: float) -> FeedOut:
    """The API shape of a feed row."""
    fresh = freshness(feed, utcnow(), stale_days)
    return FeedOut(
        id=feed.id,
        url=feed.shown_url,
        category=feed.category,
        title=feed.title or "",
        publisher=feed.publisher,
        site_name=feed.site_name,
        publisher_name=publisher_of(feed),
        newest_item_at=fresh.newest_item_at,
        stale=fresh.stale,
        last_polled_at=as_utc(feed.last_polled_at) if feed.last_polled_at else None,
        last_status=feed.last_status,
        last_error=feed.last_error,
        consecutive_failures=feed.consecutive_failures,
        created_at=as_utc(feed.created_at),
    )


@router.get("/feeds", response_model=list[FeedOut], responses=READ_ERRORS)
@readable_by_viewers
def list_feeds(session: SessionDep, settings: SettingsDep):
    """Every feed in the order they were added, with its last status and error."""
    return [feed_out(feed, settings.feed_stale_days) for feed in feed_rules.list_feeds(session)]


@router.post("/feeds", status_code=201, response_model=FeedOut, responses=ADMIN_ERRORS)
def add_feed(body: FeedIn, request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep):
    """Register a feed (a known URL is re-filed under the new category); it is fetched on the next poll."""
    feed = feed_rules.add_feed(
        session,
        url=body.url,
        category=body.category,
        publisher=body.publisher,
        allow_private=settings.feed_allow_private,
    )
    audit.record(
        session,
        actor=admin.name,
        action="feed.create",
        object_type="feed",
        object_id=feed.id,
        details={"url": feed.shown_url, "category": feed.category, "via": "api"},
        ip=client_ip(request),
    )
    session.commit()
    return feed_out(feed, settings.feed_stale_days)


@router.get("/feeds/{feed_id}", response_model=FeedOut, responses={**READ_ERRORS, **NO_FEED})
@readable_by_viewers
def show_feed(feed_id: int, session: SessionDep, settings: SettingsDep):
    """One feed and its last poll."""
    return feed_out(feed_rules.get_feed(session, feed_id), settings.feed_stale_days)


@router.put("/feeds/{feed_id}", response_model=FeedOut, responses={**ADMIN_ERRORS, **NO_FEED})
def change_feed(
    feed_id: int, body: FeedIn, request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep
):
    """Replace a feed's URL, category and publisher; a new URL starts afresh."""
    feed = feed_rules.update_feed(
        session,
        feed_id,
        url=body.url,
        category=body.category,
        publisher=body.publisher,
        allow_private=settings.feed_allow_private,
    )
    audit.record(
        session,
        actor=admin.name,
        action="feed.update",
        object_type="feed",
        object_id=feed.id,
        details={"url": feed.shown_url, "category": feed.category, "publisher": feed.publisher, "via": "api"},
        ip=client_ip(request),
    )
    session.commit()
    return feed_out(feed, settings.feed_stale_days)


@router.delete("/feeds/{feed_id}", response_model=FeedOut, responses={**ADMIN_ERRORS, **NO_FEED})
def delete_feed(feed_id: int, request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep):
    """Stop polling a feed; its stories stay. Answers the feed as it was."""
    gone = feed_out(feed_rules.get_feed(session, feed_id), settings.feed_stale_days)
    feed_rules.delete_feed(session, feed_id)
    audit.record(
        session,
        actor=admin.name,
        action="feed.delete",
        object_type="feed",
        object_id=feed_id,
        details={"url": gone.url, "via": "api"},
        ip=client_ip(request),
    )
    session.commit()
    return gone


@router.post("/feeds/{feed_id}/poll", response_model=PollOut, responses={**ADMIN_ERRORS, **NO_FEED})
def poll_feed(feed_id: int, request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep):
    """Fetch one feed now, inside the request (bounded by the poller's timeouts); a failure is a 200 naming it."""
    result = feed_rules.poll_now(
        session, feed_id, clusterer=clusterer_from(settings), allow_private=settings.feed_allow_private
    )
    audit.record(
        session,
        actor=admin.name,
        action="feed.poll",
        object_type="feed",
        object_id=feed_id,
        details={"status": result.status, "new_items": result.created, "error": result.error, "via": "api"},
        ip=client_ip(request),
    )
    session.commit()
    return PollOut(
        feed=feed_out(feed_rules.get_feed(session, feed_id), settings.feed_stale_days),
        status=result.status,
        new_items=result.created,
        seen_before=result.updated,
        error=result.error,
    )
