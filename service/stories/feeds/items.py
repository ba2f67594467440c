"""One feed entry as an item: who published it, when, in which language; a bad entry is refused with a reason."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.stories.feeds.dates import entry_moment, feed_moment, plausible, undated_bound
from service.stories.feeds.names import feed_publisher, source_publisher
from service.stories.feeds.text import CONTROL_CHARS, html_to_text
from service.stories.items import ItemInput
from service.stories.language import detect_language, normalise_language

MAX_DESCRIPTION_CHARS = 100_000  # a 1 MB description is a broken feed, not an article
MAX_SUMMARY_CHARS = 4000
MAX_TITLE_CHARS = 500
LOOKS_LIKE_MARKUP = re.compile(r"<[a-zA-Z/!]|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]\w*);")
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ItemProblem(ValueError):
    """Why one entry of a feed was not taken; recorded on the feed, the other entries go on."""


def detail_text(value: str, detail: dict | None) -> str:
    """feedparser text is HTML unless typed plain; RSS titles typed plain often carry CDATA markup all the same."""
    if detail and detail.get("type") == "text/plain" and not LOOKS_LIKE_MARKUP.search(value):
        value = CONTROL_CHARS.sub("", value.replace("\xa0", " "))
        return "\n\n".join(" ".join(p.split()) for p in value.split("\n\n") if p.strip())
    return html_to_text(value)


@dataclass
class FeedContent:
    """A parsed feed as items: the entries taken, why the others were not, and the publisher name the feed gives."""

    items: list[ItemInput]
    problems: list[str]
    site_name: str


def _published(entry: dict[str, Any], now: datetime) -> datetime | None:
    """The entry's own time in UTC (in any language's day and month names), None when it has none; absurd: a problem."""
    moment = entry_moment(entry)
    if moment is not None and not plausible(moment, now):
        raise ItemProblem(f"implausible date {moment:%Y-%m-%d %H:%M} UTC")
    return moment


def entry_to_item(
    entry: dict[str, Any],
    *,
    feed_url: str,
    feed_id: int | None,
    category: str,
    publisher: str,
    language: str | None,
    now: datetime,
    web_url,
) -> ItemInput:
    """One feed entry as an item, or ItemProblem saying why it cannot be one."""
    raw_title = entry.get("title") or ""
    if RAW_CONTROL.search(raw_title):
        raise ItemProblem("control characters in the title")
    content = entry.get("content") or []
    body, detail = (
        (entry.get("summary"), entry.get("summary_detail"))
        if entry.get("summary")
        else (content[0].get("value", ""), content[0])
        if content
        else ("", None)
    )
    body = body or ""
    if len(body) > MAX_DESCRIPTION_CHARS:
        raise ItemProblem(f"description of {len(body):,} characters (the limit is {MAX_DESCRIPTION_CHARS:,})")
    title = " ".join(detail_text(raw_title, entry.get("title_detail")).split())
    summary = detail_text(body, detail)[:MAX_SUMMARY_CHARS]
    if not title:
        raise ItemProblem("no title")
    if len(title) > MAX_TITLE_CHARS:
        title = title[: MAX_TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"
    published = _published(entry, now)
    link = web_url(entry.get("link"))
    guid = (entry.get("id") or "").strip() or link or "title:" + hashlib.sha256(title.encode()).hexdigest()
    source = entry.get("source") or {}
    return ItemInput(
        publisher=source_publisher(str(source.get("title") or "")) or publisher,  # aggregators: <source>
        title=title,
        category=category,
        published=published or now,
        url=link,
        summary=summary,
        language=language or detect_language(f"{title}. {summary[:500]}"),
        dated=published is not None,
        identity=f"{feed_url}#{guid}",
        feed_id=feed_id,
        origin="feed",
    )


def date_undated(items: Sequence[ItemInput], feed_built: datetime | None = None) -> None:
    """An undated item gets its first-seen time, but never looks newer than its feed's date or newest dated item."""
    bound = undated_bound((item.published for item in items if item.dated), feed_built)
    if bound is not None:
        for item in items:
            if not item.dated:
                item.published = min(item.published, bound)


def feed_content(
    parsed: Any,
    *,
    feed_url: str,
    feed_id: int | None,
    category: str,
    publisher: str | None,
    now: datetime,
    web_url: Callable[[str | None], str | None],
) -> FeedContent:
    """A parsed feed's entries as items, named after the feed's publisher (an admin's name first) and honestly dated."""
    site_name = feed_publisher(parsed.feed, feed_url, [str(entry.get("title") or "") for entry in parsed.entries])
    items, problems = [], []
    for number, entry in enumerate(parsed.entries, start=1):
        try:
            items.append(
                entry_to_item(
                    entry,
                    feed_url=feed_url,
                    feed_id=feed_id,
                    category=category,
                    publisher=publisher or site_name,
                    language=feed_language(parsed.feed),
                    now=now,
                    web_url=web_url,
                )
            )
        except ItemProblem as problem:
            problems.append(f"item {number}: {problem}")
    date_undated(items, feed_moment(parsed.feed, now))
    return FeedContent(items=items, problems=problems, site_name=site_name[:300])


def feed_language(parsed_feed: dict[str, Any]) -> str | None:
    """The feed's <language> (or the server's Content-Language), as a list setting spells it."""
    return normalise_language(parsed_feed.get("language"))
