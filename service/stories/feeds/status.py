"""A feed's publisher name and freshness as admins see them: the name its items carry, its newest item, stale or not."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from service.models import Feed, as_utc
from service.stories.items import ItemInput, newest_published, rename_publisher


@dataclass(frozen=True)
class Freshness:
    """When the feed's newest item came out, and whether that is longer ago than admins allow."""

    newest_item_at: datetime | None
    stale: bool


def publisher_of(feed: Feed) -> str:
    """The name the feed's items carry (those without their own <source>): the admin's, else the feed's own."""
    return feed.publisher or feed.site_name or feed.title or feed.url


def set_publisher(session: Session, feed: Feed, publisher: str | None) -> None:
    """An admin's name for the feed's publisher (None: the feed's own again); its stored items follow at once."""
    _follow(session, feed, lambda: setattr(feed, "publisher", publisher or None))


def set_site_name(session: Session, feed: Feed, site_name: str) -> None:
    """The publisher's name the feed gives (read at each poll); items follow when no admin's name stands over it."""
    _follow(session, feed, lambda: setattr(feed, "site_name", site_name or feed.site_name))


def _follow(session: Session, feed: Feed, change: Callable[[], None]) -> None:
    """Make the change; items carrying an earlier name of the feed (legacy: its raw title) take the new one."""
    was, before = publisher_of(feed), {feed.publisher, feed.site_name, feed.title}
    change()
    if feed.id is not None and publisher_of(feed) != was:
        rename_publisher(session, feed.id, {name for name in before | {was} if name}, publisher_of(feed))


def note_newest(session: Session, feed: Feed, items: Sequence[ItemInput]) -> None:
    """After a poll: the newest time among the feed's current items, never going back (a feed may drop entries)."""
    newest = newest_published(session, items)
    known = as_utc(feed.newest_item_at) if feed.newest_item_at else None
    feed.newest_item_at = max(filter(None, (newest, known)), default=None)


def freshness(feed: Feed, now: datetime, stale_days: float) -> Freshness:
    """Stale: its newest item (or, with none yet, its registration) is older than stale_days."""
    newest = as_utc(feed.newest_item_at) if feed.newest_item_at else None
    since = newest or as_utc(feed.created_at)
    return Freshness(newest_item_at=newest, stale=as_utc(now) - since > timedelta(days=stale_days))
