"""The small interface every clustering method implements, so methods can be swapped and compared."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

DEFAULT_WINDOW = timedelta(hours=72)


@dataclass(frozen=True)
class ItemText:
    """One feed item as the clusterers see it."""

    key: Hashable
    title: str
    published: datetime
    summary: str = ""
    publisher: str = ""
    language: str | None = None
    vector: bytes | None = None  # stored embedding from embed_titles(): 384 little-endian float16


@dataclass(frozen=True)
class NewStory:
    """Marks a new item that starts a new story; equal groups start the same story."""

    group: int


@dataclass(frozen=True)
class Placement:
    """Where a poll's new items go, and which stored stories the same rules now show to be one happening."""

    stories: list[Hashable | NewStory]  # per new item: a stored story (any one of its merged group) or a new one
    merged: list[frozenset[Hashable]] = field(default_factory=list)  # groups of stored stories that become one


class Clusterer(Protocol):
    """A story-clustering method."""

    name: str

    def assign(
        self, new: Sequence[ItemText], existing: Sequence[tuple[ItemText, Hashable]]
    ) -> list[Hashable | NewStory]:
        """Place each new item in an existing story (by key) or in a new story (NewStory)."""
        ...

    def place(
        self,
        new: Sequence[ItemText],
        existing: Sequence[tuple[ItemText, Hashable]],
        frozen: Collection[Hashable] | None = None,
    ) -> Placement:
        """Like assign, but stored stories not in `frozen` may merge when the new items link them (None: none may)."""
        ...

    def vectors(self, items: Sequence[ItemText]) -> list[bytes | None]:
        """What to store with each new item so it is never embedded again (None: the method keeps nothing)."""
        ...


def placement(labels: Sequence[int], anchors: Sequence[Hashable | None], new: Sequence[int]) -> Placement:
    """Per new item (its index in the pool) its stored story or new group; the stored stories each label joins."""
    stored: dict[int, list[Hashable]] = {}
    for label, anchor in zip(labels, anchors, strict=True):
        if anchor is not None and anchor not in stored.setdefault(label, []):
            stored[label].append(anchor)
    groups: dict[int, int] = {}
    result: list[Hashable | NewStory] = []
    for i in new:
        found = stored.get(labels[i])
        result.append(found[0] if found else NewStory(groups.setdefault(labels[i], len(groups))))
    return Placement(result, [frozenset(group) for group in stored.values() if len(group) > 1])


def timestamp(item: ItemText) -> float:
    """Seconds since the epoch of the item's own publication time (naive times are taken as UTC)."""
    published = item.published
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return published.timestamp()


def latin_script(text: str) -> bool:
    """Whether a headline is mostly Latin script (the embedding model only knows English well)."""
    letters = [ch for ch in text if ch.isalpha()]
    return not letters or sum(ch.isascii() for ch in letters) >= 0.6 * len(letters)


def clustered_text(item: ItemText) -> str:
    """The text that is clustered: the headline, or the start of the summary when there is none."""
    return item.title or item.summary[:200]


def primary_language(item: ItemText) -> str | None:
    """Primary language subtag ('en' for 'en-GB'), or None when the feed did not say."""
    return item.language.split("-")[0].split("_")[0].lower() if item.language else None
