"""The small interface every clustering method implements, so methods can be swapped and compared."""

from __future__ import annotations

from collections import Counter
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
    moved: dict[Hashable, Hashable | NewStory] = field(default_factory=dict)  # stored item key -> where it now belongs:
    # the members of a drifted story that the clustering anew put with other items (its core keeps the story)


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


def placement(
    labels: Sequence[int],
    anchors: Sequence[Hashable | None],
    new: Sequence[int],
    sealed: Collection[Hashable],
    keys: Sequence[Hashable],
) -> Placement:
    """Stored stories live where most of their items land (merging there); strays leave, never into a sealed one."""
    counts: dict[Hashable, Counter[int]] = {}
    for label, anchor in zip(labels, anchors, strict=True):
        if anchor is not None:
            counts.setdefault(anchor, Counter())[label] += 1
    home = {anchor: spread.most_common(1)[0][0] for anchor, spread in counts.items()}
    living: dict[int, list[Hashable]] = {}
    for anchor, label in home.items():
        living.setdefault(label, []).append(anchor)
    for label, group in living.items():  # a sealed story in the cluster keeps its own: the others stay apart
        living[label] = [a for a in group if a in sealed][:1] or group
    groups: dict[tuple[int, bool], int] = {}

    def where(label: int, stray: bool = False) -> Hashable | NewStory:
        """A cluster's story: the one living there, else a new one for its items (a fixed story takes no stray)."""
        found = living.get(label)
        if found and not (stray and found[0] in sealed):
            return found[0]
        return NewStory(groups.setdefault((label, stray and bool(found)), len(groups)))

    result = [where(labels[i]) for i in new]
    moved = {  # a member that landed away from its story's home (sealed stories were never clustered anew)
        key: where(label, stray=True)
        for key, label, anchor in zip(keys, labels, anchors, strict=True)
        if anchor is not None and label != home[anchor] and anchor not in sealed
    }
    return Placement(result, [frozenset(group) for group in living.values() if len(group) > 1], moved)


def mergeable(
    pool: Sequence[ItemText], anchors: Sequence[Hashable | None], frozen: Collection[Hashable] | None
) -> dict[Hashable, bool]:
    """Per stored story, whether it may merge with another: not frozen (None: all are), and not several items of one
    publisher alone (nobody else confirmed that they belong together, so they take no other story along)."""
    voices: dict[Hashable, list[str]] = {}
    for item, anchor in zip(pool, anchors, strict=True):
        if anchor is not None:
            voices.setdefault(anchor, []).append(item.publisher.casefold())
    return {
        anchor: frozen is not None and anchor not in frozen and not (len(v) > 1 and len(set(v)) == 1 and v[0] != "")
        for anchor, v in voices.items()
    }


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
