"""Items in, stories out: new items are stored once and attached to the story of their event (or start one)."""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache, partial
from typing import cast

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.models import Item, Story, as_utc, utcnow
from service.stories.clustering import Clusterer, ItemText, NewStory, get_clusterer, representative_title, story_points
from service.stories.merging import lock_for_clustering, lost_items, merge_stories, unmergeable

MAX_KEY_POINTS = 6
FURNITURE_SAMPLE = 120  # a publisher's latest items, to learn the sentences it repeats in all of them


@dataclass
class ItemInput:
    """One article as a source gave it, checked and cleaned, before it is stored."""

    publisher: str
    title: str
    category: str
    published: datetime
    url: str | None = None
    summary: str = ""
    language: str | None = None
    dated: bool = True
    identity: str = ""  # what makes it the same item on the next poll: feed URL + guid, or the link
    feed_id: int | None = None
    origin: str = "feed"

    def dedup_key(self) -> str:
        """Same identity (or, without one, same publisher and title) means the same item: re-polls change nothing."""
        basis = self.identity or f"{self.publisher}|{' '.join(self.title.casefold().split())}"
        return hashlib.sha256(basis.encode("utf-8")).hexdigest()


@dataclass
class IngestResult:
    """What one batch of items did to the stories."""

    created: int = 0  # items stored
    known: int = 0  # items already stored (a re-poll)
    new_stories: int = 0
    stories: set[int] = field(default_factory=set)  # every story that gained or lost an item (merged, split)
    merged: set[int] = field(default_factory=set)  # stories merged into another one (gone)


@lru_cache(maxsize=2)
def _clusterer(method: str | None, window_hours: float) -> Clusterer:
    """One clusterer per process: a model, if the method has one, loads once."""
    return get_clusterer(method or None, window=timedelta(hours=window_hours))


def clusterer_from(settings: Settings) -> Clusterer:
    """The clusterer the settings choose (CLUSTERING_METHOD, CLUSTER_WINDOW_HOURS)."""
    return _clusterer(settings.clustering_method, settings.cluster_window_hours)


def ingest_items(
    session: Session, inputs: Sequence[ItemInput], *, clusterer: Clusterer, now: datetime | None = None
) -> IngestResult:
    """Store the new items and place each in a story; nothing is committed (the caller's transaction decides)."""
    result = IngestResult()
    now = now or utcnow()
    unique = list({item.dedup_key(): item for item in inputs}.values())
    if not unique:
        return result
    lock_for_clustering(session)
    stored = set(session.scalars(select(Item.dedup_key).where(Item.dedup_key.in_([i.dedup_key() for i in unique]))))
    new = [item for item in unique if item.dedup_key() not in stored]
    result.known = len(unique) - len(new)
    if not new:
        return result
    texts = [_as_text(n, item) for n, item in enumerate(new)]
    vectors = clusterer.vectors(texts)  # stored, so no later poll embeds these items again
    texts = [replace(text, vector=vector) for text, vector in zip(texts, vectors, strict=True)]
    neighbour_ids, neighbours = _neighbours(session, new, clusterer)
    placed = clusterer.place(texts, neighbours, unmergeable(session, {story for _, story in neighbours}))
    into = merge_stories(session, placed.merged)  # type: ignore[arg-type]
    result.merged, result.stories = set(into), set(into.values())
    new_story_ids: dict[int, int] = {}

    def story_for(place: object, start: Callable[[], Story]) -> int:
        """The stored story a placement names (under its merged id), or the poll's new story for its group."""
        if not isinstance(place, NewStory):
            kept = cast(int, place)
            return into.get(kept, kept)
        if place.group not in new_story_ids:
            new_story_ids[place.group] = start().id
            result.new_stories += 1
        return new_story_ids[place.group]

    for item, place, vector in zip(new, placed.stories, vectors, strict=True):
        story = story_for(place, partial(_start_story, session, f"cluster:{item.dedup_key()}", item, now))
        session.add(
            Item(
                dedup_key=item.dedup_key(),
                story_id=story,
                feed_id=item.feed_id,
                publisher=item.publisher,
                title=item.title,
                url=item.url,
                summary=item.summary,
                language=item.language,
                category=item.category,
                published_at=item.published,
                dated=item.dated,
                first_seen_at=now,
                vector=vector,
                origin=item.origin,
            )
        )
        result.stories.add(story)
    session.flush()
    left = {text.key: (item_id, story) for item_id, (text, story) in zip(neighbour_ids, neighbours, strict=True)}
    for key, place in placed.moved.items():  # a drifted story's members that belong elsewhere go there
        item_id, was = left[key]
        moving = session.get_one(Item, item_id)
        moving.story_id = story_for(place, partial(_start_story, session, f"split:{uuid.uuid4()}", moving, now))
        result.stories |= {moving.story_id, into.get(was, was)}  # the story it left, or what that became
    session.flush()
    lost_items(session, {into.get(left[key][1], left[key][1]) for key in placed.moved})
    for story_id in sorted(result.stories):
        refresh_story(session, story_id)
    result.created = len(new)
    return result


def _as_text(key: object, item: ItemInput) -> ItemText:
    """What the clusterer sees of an item."""
    return ItemText(
        key=key,
        title=item.title,
        published=item.published,
        summary=item.summary,
        publisher=item.publisher,
        language=item.language,
    )


def _neighbours(
    session: Session, new: Sequence[ItemInput], clusterer: Clusterer
) -> tuple[list[int], list[tuple[ItemText, int]]]:
    """Stored items published within the window of the new ones, with their story: all a new item is compared with."""
    window: timedelta = getattr(clusterer, "window", timedelta(hours=72))
    earliest = min(as_utc(item.published) for item in new) - window
    latest = max(as_utc(item.published) for item in new) + window
    rows = session.execute(
        select(
            Item.id,
            Item.title,
            Item.published_at,
            Item.summary,
            Item.publisher,
            Item.language,
            Item.vector,
            Item.story_id,
        ).where(Item.published_at >= earliest, Item.published_at <= latest)
    ).all()
    return [row.id for row in rows], [
        (
            ItemText(
                key=f"item-{row.id}",
                title=row.title,
                published=as_utc(row.published_at),
                summary=row.summary,
                publisher=row.publisher,
                language=row.language,
                vector=row.vector,
            ),
            row.story_id,
        )
        for row in rows
    ]


def _start_story(session: Session, basis: str, first: ItemInput | Item, now: datetime) -> Story:
    """A story for a new event (or a drifted story's split-off part); its title and points are filled in by
    refresh_story once its items are in."""
    story = Story(
        dedup_key=hashlib.sha256(basis.encode()).hexdigest(),
        title=first.title,
        category=first.category,
        origin="feed",
        origin_ref=(first.identity if isinstance(first, ItemInput) else first.url or "")[:2000],
        received_at=now,
        hand_written=False,
    )
    session.add(story)
    session.flush()
    return story


def refresh_story(session: Session, story_id: int) -> Story:
    """A story's face from its items: the most representative headline, key points, one source per publisher."""
    story = session.get(Story, story_id)
    assert story is not None
    items = list(session.scalars(select(Item).where(Item.story_id == story_id).order_by(Item.published_at, Item.id)))
    newest = max((as_utc(item.published_at) for item in items), default=None)
    kept = story.newest_item_at if story.hand_written or not items else None  # a split may have taken the newest
    story.newest_item_at = max(filter(None, (newest, as_utc(kept) if kept else None)), default=None)
    story.updated_at = utcnow()
    if story.hand_written or not items:
        return story  # a hand-written story keeps its own title, key points and count
    texts = [
        ItemText(
            key=item.id,
            title=item.title,
            published=as_utc(item.published_at),
            summary=item.summary,
            publisher=item.publisher,
            language=item.language,
        )
        for item in items
    ]
    lead = items[representative_title(texts)]
    story.title, story.link, story.story_date = lead.title, lead.url, newest.date() if newest else None
    story.sources = _one_per_publisher(items, lead)
    story.source_count = len(story.sources)
    points = story_points(texts, limit=MAX_KEY_POINTS, title=lead.title, context=_publishers_items(session, items))
    story.key_points = [point.text for point in points]
    story.point_sources = [
        {"publisher": items[point.member].publisher, "item_url": items[point.member].url} for point in points
    ]
    story.language = _most_common([item.language for item in items if item.language])
    story.category = _most_common([item.category for item in items]) or story.category
    return story


def _publishers_items(session: Session, items: Sequence[Item]) -> list[ItemText]:
    """The latest items of the story's publishers, from which the sentences each repeats everywhere are learnt."""
    publishers = sorted({item.publisher for item in items})
    rows = session.execute(
        select(Item.id, Item.publisher, Item.summary, Item.published_at)
        .where(Item.publisher.in_(publishers), Item.summary != "")
        .order_by(Item.published_at.desc())
        .limit(FURNITURE_SAMPLE * len(publishers))
    ).all()
    own = {item.id for item in items}
    return [
        ItemText(key=row.id, title="", published=as_utc(row.published_at), summary=row.summary, publisher=row.publisher)
        for row in rows
        if row.id not in own
    ]


def _one_per_publisher(items: Sequence[Item], lead: Item) -> list[dict[str, str | None]]:
    """The sources list: each publisher once, with its earliest article (the lead's publisher with the lead)."""
    chosen: dict[str, Item] = {lead.publisher.casefold(): lead}
    for item in items:
        chosen.setdefault(item.publisher.casefold(), item)
    return [{"publisher": item.publisher, "title": item.title, "url": item.url} for item in chosen.values()]


def _most_common(values: Sequence[str]) -> str | None:
    """The value most items agree on (ties: the first seen)."""
    return Counter(values).most_common(1)[0][0] if values else None


def items_per_story(session: Session, story_ids: Sequence[int]) -> dict[int, int]:
    """How many items each story has, for listings."""
    rows = session.execute(
        select(Item.story_id, func.count()).where(Item.story_id.in_(story_ids)).group_by(Item.story_id)
    ).all()
    return {story_id: count for story_id, count in rows}


def rename_publisher(session: Session, feed_id: int, old_names: Iterable[str], new_name: str) -> set[int]:
    """A feed's items named after it take its new name, and their stories' sources follow; the stories touched."""
    old = [name for name in set(old_names) if name and name != new_name]
    if not old:
        return set()
    named = (Item.feed_id == feed_id) & Item.publisher.in_(old)
    story_ids = set(session.scalars(select(Item.story_id).where(named).distinct()))
    session.execute(update(Item).where(named).values(publisher=new_name[:300]))
    for story_id in sorted(story_ids):
        refresh_story(session, story_id)
    return story_ids


def newest_published(session: Session, inputs: Sequence[ItemInput]) -> datetime | None:
    """The newest stored time among these items (as stored: a re-polled undated item keeps its first date)."""
    keys = [item.dedup_key() for item in inputs]
    return (
        as_utc(found)
        if keys and (found := session.scalar(select(func.max(Item.published_at)).where(Item.dedup_key.in_(keys))))
        else None
    )
