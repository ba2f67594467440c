"""RSS 2.0 and Atom feeds: fetched with conditional GET, parsed by feedparser, taken in as items of stories."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.sax import SAXParseException

import feedparser
import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.errors import InvalidInput, UnknownPage
from service.models import Feed, utcnow
from service.models.stories import shown_url
from service.stories.clustering import Clusterer
from service.stories.feeds.fetch import FeedError, address_problem, fetch, make_client
from service.stories.feeds.items import detail_text, feed_content
from service.stories.feeds.status import note_newest, set_publisher, set_site_name
from service.stories.items import ingest_items

log = logging.getLogger(__name__)

__all__ = ["FeedError", "PollResult", "add_feed", "make_client", "poll_all", "poll_now"]  # fetching: feed_fetch


@dataclass
class PollResult:
    """What one poll of one feed did."""

    url: str
    status: str
    title: str = ""
    created: int = 0
    updated: int = 0
    error: str | None = None


def _web_url(url: str | None) -> str | None:
    """Only http(s) links are fetched or end up in emails (never javascript:, data: or file:)."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0 and len(url) <= 2000
    except ValueError:  # a bad port or IPv6 literal
        ok = False
    return url if ok else None


def _checked(url: str | None, category: str | None, publisher: str | None, allow_private: bool) -> tuple[str, str, str]:
    """A feed's URL, category and publisher as stored, or InvalidInput saying which one is wrong."""
    url, category, publisher = (url or "").strip(), (category or "").strip(), " ".join((publisher or "").split())
    if not _web_url(url) or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise InvalidInput(
            f"feed URL must be an http:// or https:// address with a host (at most 2000 "
            f"characters, no spaces), got {shown_url(url)!r}"
        )
    if problem := address_problem(url, allow_private):
        raise InvalidInput(f"feed URL {shown_url(url)} is refused: {problem}")
    if not category or len(category) > 100 or not (category + publisher).isprintable():
        raise InvalidInput("category must be 1 to 100 characters (and no control characters in it or the publisher)")
    if len(publisher) > 300:
        raise InvalidInput("publisher must be at most 300 characters")
    return url, category, publisher


def add_feed(
    session: Session, *, url: str, category: str, publisher: str | None = None, allow_private: bool = False
) -> Feed:
    """Register a feed, or re-file an existing one under a new category (one row per URL)."""
    url, category, publisher = _checked(url, category, publisher, allow_private)
    feed = session.scalar(select(Feed).where(Feed.url == url)) or Feed(url=url, title="")
    feed.category = category
    session.add(feed)
    session.flush()
    if publisher:
        set_publisher(session, feed, publisher)
    return feed


def remove_feed(session: Session, url: str) -> bool:
    """Stop polling a feed; the stories it already brought in stay. False when no feed has that URL (as shown)."""
    feed = session.scalar(select(Feed).where(Feed.url == url.strip())) or next(
        (row for row in list_feeds(session) if row.shown_url == url.strip()), None
    )
    if feed is not None:
        session.delete(feed)
        session.flush()
    return feed is not None


def get_feed(session: Session, feed_id: int) -> Feed:
    """The feed with this id, or UnknownPage (a stale link or a mistyped id)."""
    feed = session.get(Feed, feed_id) if 0 < feed_id <= 2**31 - 1 else None
    if feed is None:
        raise UnknownPage(f"There is no feed {feed_id}.")
    return feed


def update_feed(
    session: Session, feed_id: int, *, url: str, category: str, publisher: str | None, allow_private: bool = False
) -> Feed:
    """Change a feed's URL, category or publisher; a new URL starts afresh (no validators, no failures counted)."""
    feed = get_feed(session, feed_id)
    url = feed.url if url.strip() == feed.shown_url != feed.url else url  # the form shows credentials as ***
    url, category, publisher = _checked(url, category, publisher, allow_private)
    if url != feed.url:
        if session.scalar(select(Feed.id).where(Feed.url == url, Feed.id != feed.id)) is not None:
            raise InvalidInput(f"Another feed already has the URL {shown_url(url)}.")
        feed.url, feed.etag, feed.last_modified = url, None, None
        feed.last_status, feed.last_error, feed.consecutive_failures = "new", None, 0
    feed.category = category
    set_publisher(session, feed, publisher or None)
    session.flush()
    return feed


def delete_feed(session: Session, feed_id: int) -> Feed:
    """Stop polling a feed; the stories and items it brought in stay (their feed_id becomes NULL)."""
    feed = get_feed(session, feed_id)
    session.delete(feed)
    session.flush()
    return feed


def poll_now(
    session: Session,
    feed_id: int,
    *,
    clusterer: Clusterer,
    client: httpx.Client | None = None,
    allow_private: bool = False,
) -> PollResult:
    """Poll one feed at once (an admin's "poll now"), committed like one feed of poll_all; its row keeps the result."""
    url = get_feed(session, feed_id).url
    own_client = client is None
    client = client or make_client(allow_private=allow_private)
    try:
        return _poll_one(session, feed_id, url, client, clusterer, allow_private)
    finally:
        if own_client:
            client.close()


def list_feeds(session: Session) -> list[Feed]:
    """Every feed in the order they were added, for admins and the poller."""
    return list(session.scalars(select(Feed).order_by(Feed.id)))


def _parse(content: bytes, headers: httpx.Headers, url: str) -> feedparser.FeedParserDict:
    """Parse bytes we fetched, from a BytesIO so feedparser never fetches a URL or opens a local file itself."""
    passed = {key: headers[key] for key in ("content-type", "content-language") if key in headers}
    parsed = feedparser.parse(io.BytesIO(content), response_headers={**passed, "content-location": url})
    if not parsed.entries and not parsed.get("version"):
        problem = parsed.get("bozo_exception") or ("empty response" if not content else "no items found")
        if isinstance(problem, SAXParseException):
            problem = f"line {problem.getLineNumber()}: {problem.getMessage()}"
        raise FeedError(f"not a valid RSS or Atom feed: {problem}")
    return parsed


def _record(feed: Feed, status: str, error: str | None = None) -> None:
    """What the last poll saw, on the feed's row; failures count up until a poll succeeds (skipped items don't)."""
    feed.last_polled_at, feed.last_status, feed.last_error = utcnow(), status, error
    feed.consecutive_failures = feed.consecutive_failures + 1 if status == "error" else 0


def poll_feed(
    session: Session, feed: Feed, *, client: httpx.Client, clusterer: Clusterer, allow_private: bool = False
) -> PollResult:
    """Fetch, parse and take in one feed without committing; feed and item problems are recorded, not raised."""
    try:
        fetched = fetch(client, feed.url, etag=feed.etag, last_modified=feed.last_modified, allow_private=allow_private)
        if fetched is None:
            _record(feed, "not_modified")
            session.flush()
            return PollResult(feed.url, "not_modified", feed.title)
        parsed = _parse(*fetched)
    except FeedError as error:
        _record(feed, "error", str(error))
        session.flush()
        return PollResult(feed.url, "error", feed.title, error=str(error))
    feed_title = " ".join(detail_text(parsed.feed.get("title") or "", parsed.feed.get("title_detail")).split())[:500]
    now = utcnow()
    content = feed_content(
        parsed,
        feed_url=feed.url,
        feed_id=feed.id,
        category=feed.category,
        publisher=feed.publisher,
        now=now,
        web_url=_web_url,
    )
    set_site_name(session, feed, content.site_name)
    feed.title = feed_title or feed.title
    taken = ingest_items(session, content.items, clusterer=clusterer, now=now)
    note_newest(session, feed, content.items)
    problems = content.problems
    etag, modified = fetched[1].get("etag"), fetched[1].get("last-modified")
    feed.etag = etag if etag and len(etag) <= 500 else None
    feed.last_modified = modified if modified and len(modified) <= 100 else None
    skipped = f"{len(problems)} of {len(parsed.entries)} items skipped: " + "; ".join(problems) if problems else None
    _record(feed, "partial" if problems else "ok", skipped[:2000] if skipped else None)
    session.flush()
    return PollResult(
        feed.url, "partial" if problems else "ok", feed.title, created=taken.created, updated=taken.known, error=skipped
    )


def poll_all(
    session: Session, *, clusterer: Clusterer, client: httpx.Client | None = None, allow_private: bool = False
) -> list[PollResult]:
    """Poll every feed, committing each on its own, so one broken feed never stops or undoes the others."""
    own_client = client is None
    client = client or make_client(allow_private=allow_private)
    results = []
    try:
        for feed_id, url in session.execute(select(Feed.id, Feed.url).order_by(Feed.id)).all():
            results.append(_poll_one(session, feed_id, url, client, clusterer, allow_private))
    finally:
        if own_client:
            client.close()
    return results


def _poll_one(
    session: Session, feed_id: int, url: str, client: httpx.Client, clusterer: Clusterer, allow_private: bool
) -> PollResult:
    """One feed in one transaction; an unexpected error rolls back only this feed and is recorded on its row."""
    try:
        feed = session.get(Feed, feed_id)
        if feed is None:  # removed since the list was read
            return PollResult(url, "removed")
        result = poll_feed(session, feed, client=client, clusterer=clusterer, allow_private=allow_private)
        session.commit()
    except Exception as error:  # a bug or a database error must not stop the other feeds
        session.rollback()
        log.exception("feed %s: poll failed unexpectedly", shown_url(url))
        message = f"unexpected error: {type(error).__name__}: {error}"[:2000]
        if (row := session.get(Feed, feed_id)) is not None:
            _record(row, "error", message)
            session.commit()
        result = PollResult(url, "error", row.title if row else "", error=message)
    log.log(
        logging.WARNING if result.error else logging.INFO,
        "feed %s: %s, %d new, %d updated%s",
        shown_url(url),
        result.status,
        result.created,
        result.updated,
        f": {result.error}" if result.error else "",
    )
    return result
