"""RSS 2.0 and Atom feeds: fetched with conditional GET, parsed by feedparser, stored as stories."""
from __future__ import annotations

import hashlib
import io
import logging
import re
import time
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit
from xml.sax import SAXParseException

import feedparser
import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import InvalidInput
from service.feed_text import CONTROL_CHARS, html_to_text, text_to_points
from service.models import Feed, Story, utcnow
from service.stories import StoryInput, upsert_story

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
DEADLINE_SECONDS = 60.0  # a server dripping bytes within each read timeout is still cut off
MAX_BODY_BYTES = 5 * 1024 * 1024
USER_AGENT = "WorldNewsDaily/0.1 (self-hosted newsletter feed poller)"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
LOOKS_LIKE_MARKUP = re.compile(r"<[a-zA-Z/!]|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]\w*);")


class FeedError(Exception):
    """A poll that cannot produce stories; its message is what admins see on the feed's row."""


@dataclass
class PollResult:
    """What one poll of one feed did."""

    url: str
    status: str
    title: str = ""
    created: int = 0
    updated: int = 0
    error: str | None = None



def _detail_text(value: str, detail: dict | None) -> str:
    """feedparser text is HTML unless typed plain; RSS titles typed plain often carry CDATA markup all the same."""
    if detail and detail.get("type") == "text/plain" and not LOOKS_LIKE_MARKUP.search(value):
        value = CONTROL_CHARS.sub("", value.replace("\xa0", " "))
        return "\n\n".join(" ".join(p.split()) for p in value.split("\n\n") if p.strip())
    return html_to_text(value)


def _web_url(url: str | None) -> str | None:
    """Only http(s) links are fetched or end up in emails (never javascript:, data: or file:)."""
    try:
        parts = urlsplit(url or "")
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0 and len(url) <= 2000
    except ValueError:  # a bad port or IPv6 literal
        ok = False
    return url if ok else None


def add_feed(session: Session, *, url: str, category: str) -> Feed:
    """Register a feed, or re-file an existing one under a new category (one row per URL)."""
    url, category = (url or "").strip(), (category or "").strip()
    if not _web_url(url) or any(ch.isspace() for ch in url):
        raise InvalidInput(f"feed URL must be an http:// or https:// address with a host (at most 2000 "
                           f"characters, no spaces), got {url!r}")
    if not category or len(category) > 100:
        raise InvalidInput("category must be 1 to 100 characters")
    feed = session.scalar(select(Feed).where(Feed.url == url)) or Feed(url=url, title="")
    feed.category = category
    session.add(feed)
    session.flush()
    return feed


def remove_feed(session: Session, url: str) -> bool:
    """Stop polling a feed; the stories it already brought in stay. False when no feed has that URL."""
    feed = session.scalar(select(Feed).where(Feed.url == url.strip()))
    if feed is not None:
        session.delete(feed)
        session.flush()
    return feed is not None


def list_feeds(session: Session) -> list[Feed]:
    """Every feed in the order they were added, for admins and the poller."""
    return list(session.scalars(select(Feed).order_by(Feed.id)))


def make_client(timeout: float = TIMEOUT_SECONDS) -> httpx.Client:
    """The HTTP client feeds are fetched with: bounded timeouts, a few redirects, our User-Agent."""
    return httpx.Client(timeout=httpx.Timeout(timeout, connect=timeout), follow_redirects=True, max_redirects=5,
                        headers={"User-Agent": USER_AGENT})


def _fetch(feed: Feed, client: httpx.Client) -> tuple[bytes, httpx.Headers, str] | None:
    """GET the feed conditionally, reading at most MAX_BODY_BYTES: (body, headers, final URL), or None for 304."""
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    headers |= {"If-None-Match": feed.etag} if feed.etag else {}
    headers |= {"If-Modified-Since": feed.last_modified} if feed.last_modified else {}
    too_large = f"response larger than {MAX_BODY_BYTES // (1024 * 1024)} MB; stopped reading"
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        with client.stream("GET", feed.url, headers=headers) as response:
            if response.status_code == 304:
                return None
            if response.status_code >= 400:
                raise FeedError(f"HTTP {response.status_code} {response.reason_phrase}".strip())
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > MAX_BODY_BYTES:
                raise FeedError(too_large)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise FeedError(too_large)
                if time.monotonic() > deadline:
                    raise FeedError(f"download took longer than {DEADLINE_SECONDS:.0f} s; stopped reading")
            return bytes(body), response.headers, str(response.url)
    except httpx.TimeoutException as error:
        raise FeedError(f"timed out ({type(error).__name__}): the server did not answer in time") from None
    except httpx.ConnectError as error:
        raise FeedError(f"could not connect: {error}") from None
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise FeedError(f"request failed: {type(error).__name__}: {error}") from None


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


def entry_to_story(entry: dict, *, feed: Feed, publisher: str) -> StoryInput | None:
    """One feed item as a story; None for an item with neither title nor text."""
    content = entry.get("content") or []
    body_html, detail = ((entry.get("summary"), entry.get("summary_detail")) if entry.get("summary")
                         else (content[0].get("value", ""), content[0]) if content else ("", None))
    title = " ".join(_detail_text(entry.get("title") or "", entry.get("title_detail")).split())
    points = [p for p in text_to_points(_detail_text(body_html or "", detail)) if p.casefold() != title.casefold()]
    title = title or (points.pop(0) if points else "")
    if not title:
        return None
    title = title if len(title) <= 500 else title[:499].rsplit(" ", 1)[0] + "…"
    link = _web_url(entry.get("link"))
    parsed_date = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")  # no feedparser warning
    external_id = (entry.get("id") or "").strip() or link or "title:" + hashlib.sha256(title.encode()).hexdigest()
    if len(external_id) > 500:
        external_id = "sha256:" + hashlib.sha256(external_id.encode()).hexdigest()
    return StoryInput(title=title, category=feed.category, key_points=points, source_count=1,
                      sources=[{"publisher": publisher, "title": title, "url": link}], link=link,
                      story_date=date(*parsed_date[:3]) if parsed_date else None, origin="feed",
                      origin_ref=feed.url, external_id=external_id)


def _record(feed: Feed, status: str, error: str | None = None) -> None:
    """What the last poll saw, on the feed's row; failures count up until a poll succeeds."""
    feed.last_polled_at, feed.last_status, feed.last_error = utcnow(), status, error
    feed.consecutive_failures = feed.consecutive_failures + 1 if error else 0


def _first_seen_date(session: Session, story: StoryInput) -> date:
    """An undated item keeps the day it was first fetched (UTC), so re-polling never moves it to a later day."""
    return session.scalar(select(Story.story_date).where(Story.dedup_key == story.dedup_key())) or utcnow().date()


def poll_feed(session: Session, feed: Feed, *, client: httpx.Client) -> PollResult:
    """Fetch, parse and store one feed without committing; fetch and parse failures are recorded, not raised."""
    try:
        fetched = _fetch(feed, client)
        if fetched is None:
            _record(feed, "not_modified")
            session.flush()
            return PollResult(feed.url, "not_modified", feed.title)
        parsed = _parse(*fetched)
    except FeedError as error:
        _record(feed, "error", str(error))
        session.flush()
        return PollResult(feed.url, "error", feed.title, error=str(error))
    feed_title = " ".join(_detail_text(parsed.feed.get("title") or "", parsed.feed.get("title_detail")).split())[:500]
    feed.title = feed_title or feed.title
    publisher = feed.title or urlsplit(parsed.feed.get("link") or feed.url).hostname or feed.url
    created = updated = 0
    seen: set[str] = set()
    for entry in parsed.entries:
        story = entry_to_story(entry, feed=feed, publisher=publisher)
        if story is None or story.dedup_key() in seen:
            continue
        seen.add(story.dedup_key())
        story.story_date = story.story_date or _first_seen_date(session, story)
        _, is_new = upsert_story(session, story)
        created, updated = created + is_new, updated + (not is_new)
    etag, modified = fetched[1].get("etag"), fetched[1].get("last-modified")
    feed.etag = etag if etag and len(etag) <= 500 else None
    feed.last_modified = modified if modified and len(modified) <= 100 else None
    _record(feed, "ok")
    session.flush()
    return PollResult(feed.url, "ok", feed.title, created=created, updated=updated)


def poll_all(session: Session, *, client: httpx.Client | None = None) -> list[PollResult]:
    """Poll every feed, committing each on its own, so one broken feed never stops or undoes the others."""
    own_client = client is None
    client = client or make_client()
    results = []
    try:
        for feed_id, url in session.execute(select(Feed.id, Feed.url).order_by(Feed.id)).all():
            results.append(_poll_one(session, feed_id, url, client))
    finally:
        if own_client:
            client.close()
    return results


def _poll_one(session: Session, feed_id: int, url: str, client: httpx.Client) -> PollResult:
    """One feed in one transaction; an unexpected error rolls back only this feed and is recorded on its row."""
    try:
        feed = session.get(Feed, feed_id)
        if feed is None:  # removed since the list was read
            return PollResult(url, "removed")
        result = poll_feed(session, feed, client=client)
        session.commit()
    except Exception as error:  # a bug or a database error must not stop the other feeds
        session.rollback()
        log.exception("feed %s: poll failed unexpectedly", url)
        message = f"unexpected error: {type(error).__name__}: {error}"[:2000]
        if (row := session.get(Feed, feed_id)) is not None:
            _record(row, "error", message)
            session.commit()
        result = PollResult(url, "error", row.title if row else "", error=message)
    log.log(logging.WARNING if result.error else logging.INFO, "feed %s: %s, %d new, %d updated%s", url,
            result.status, result.created, result.updated, f": {result.error}" if result.error else "")
    return result
