"""Admin screen: feeds — what each poll saw and its last error (viewers too); add, edit, delete, poll now (admins).

"Poll now" runs the poll inside the request: stories.feeds.intake bounds it (10 s timeouts, a 60 s download deadline,
5 MB), the admin sees the outcome on the next page, and the poll commits like one feed of the beat's poll_all.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request

from service.admin import audit
from service.core.errors import InvalidInput
from service.models import Feed, utcnow
from service.stories.feeds import intake as feed_rules
from service.stories.feeds.status import freshness, publisher_of
from service.stories.items import clusterer_from
from service.web.admin.auth import readable_by_viewers
from service.web.admin.render import done, page
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep, SettingsDep

router = APIRouter(prefix="/admin")
BLANK = {"url": "", "category": "World News", "publisher": ""}


@router.get("/feeds")
@readable_by_viewers
def feeds_list(request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep):
    """Every feed with its publisher name, newest item (stale or not), last poll, status, error and failures."""
    now, days = utcnow(), settings.feed_stale_days
    rows = [(feed, publisher_of(feed), freshness(feed, now, days)) for feed in feed_rules.list_feeds(session)]
    return page(request, "feeds/index.html", title="Feeds", rows=rows, stale_days=f"{days:g}")


def _form(
    request: Request,
    *,
    values: dict[str, Any],
    feed: Feed | None = None,
    error: str | None = None,
    status_code: int = 200,
):
    """The add or edit form with the typed values."""
    return page(
        request,
        "feeds/form.html",
        status_code,
        title=f"Edit feed {feed.id}" if feed else "Add a feed",
        values=values,
        feed=feed,
        error=error,
    )


@router.get("/feeds/new")
def new_form(request: Request, admin: CurrentAdmin):
    """URL, category and an optional publisher name."""
    return _form(request, values=BLANK)


@router.post("/feeds")
def create(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    url: str = Form(""),
    category: str = Form(""),
    publisher: str = Form(""),
):
    """Register the feed (a known URL is re-filed); it is fetched on the next poll, or now with "Poll now"."""
    values = {"url": url, "category": category, "publisher": publisher}
    try:
        feed = feed_rules.add_feed(
            session,
            url=url,
            category=category,
            publisher=publisher or None,
            allow_private=settings.feed_allow_private,
        )
    except InvalidInput as error:
        session.rollback()
        return _form(request, values=values, error=error.message, status_code=422)
    audit.record(
        session,
        actor=admin.name,
        action="feed.create",
        object_type="feed",
        object_id=feed.id,
        details={"url": feed.shown_url, "category": feed.category, "publisher": feed.publisher},
        ip=client_ip(request),
    )
    session.commit()
    return done("/admin/feeds", f"Feed {feed.id} added: {feed.shown_url}. Use “Poll now” to fetch it at once.")


@router.get("/feeds/{feed_id}/edit")
def edit_form(request: Request, admin: CurrentAdmin, feed_id: int, session: SessionDep):
    """The feed's URL, category and publisher."""
    feed = feed_rules.get_feed(session, feed_id)
    return _form(
        request, feed=feed, values={"url": feed.shown_url, "category": feed.category, "publisher": feed.publisher or ""}
    )


@router.post("/feeds/{feed_id}/edit")
def edit(
    request: Request,
    admin: CurrentAdmin,
    feed_id: int,
    session: SessionDep,
    settings: SettingsDep,
    url: str = Form(""),
    category: str = Form(""),
    publisher: str = Form(""),
):
    """Save the feed; a new URL starts afresh (no cached validators, failures reset)."""
    feed = feed_rules.get_feed(session, feed_id)
    before = {"url": feed.shown_url, "category": feed.category, "publisher": feed.publisher}
    try:
        feed = feed_rules.update_feed(
            session,
            feed_id,
            url=url,
            category=category,
            publisher=publisher,
            allow_private=settings.feed_allow_private,
        )
    except InvalidInput as error:
        session.rollback()
        return _form(
            request,
            feed=feed_rules.get_feed(session, feed_id),
            error=error.message,
            status_code=422,
            values={"url": url, "category": category, "publisher": publisher},
        )
    after = {"url": feed.shown_url, "category": feed.category, "publisher": feed.publisher}
    audit.record(
        session,
        actor=admin.name,
        action="feed.update",
        object_type="feed",
        object_id=feed.id,
        details={key: [before[key], after[key]] for key in after if before[key] != after[key]},
        ip=client_ip(request),
    )
    session.commit()
    return done("/admin/feeds", f"Feed {feed.id} saved.")


@router.post("/feeds/{feed_id}/delete")
def delete(request: Request, admin: CurrentAdmin, feed_id: int, session: SessionDep):
    """Stop polling the feed; the stories it brought in stay."""
    feed = feed_rules.delete_feed(session, feed_id)
    audit.record(
        session,
        actor=admin.name,
        action="feed.delete",
        object_type="feed",
        object_id=feed_id,
        details={"url": feed.shown_url},
        ip=client_ip(request),
    )
    session.commit()
    return done("/admin/feeds", f"Feed {feed_id} deleted ({feed.shown_url}); its stories stay.")


@router.post("/feeds/{feed_id}/poll")
def poll(request: Request, admin: CurrentAdmin, feed_id: int, session: SessionDep, settings: SettingsDep):
    """Fetch this one feed now; its row shows the status and error, the notice what it brought."""
    result = feed_rules.poll_now(
        session, feed_id, clusterer=clusterer_from(settings), allow_private=settings.feed_allow_private
    )
    audit.record(
        session,
        actor=admin.name,
        action="feed.poll",
        object_type="feed",
        object_id=feed_id,
        details={
            "status": result.status,
            "new_items": result.created,
            "seen_before": result.updated,
            "error": result.error,
        },
        ip=client_ip(request),
    )
    session.commit()
    return done("/admin/feeds", poll_notice(feed_id, result))


def poll_notice(feed_id: int, result: feed_rules.PollResult) -> str:
    """One line on what a poll did, for the notice."""
    if result.status == "error":
        return f"Feed {feed_id} failed: {result.error}"
    if result.status == "not_modified":
        return f"Feed {feed_id}: not changed since the last poll."
    skipped = f" ({result.error})" if result.error else ""
    return f"Feed {feed_id} polled: {result.created} new items, {result.updated} seen before{skipped}."
