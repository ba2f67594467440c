"""The small interface every clustering method implements, so methods can be swapped and compared."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
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


class Clusterer(Protocol):
    """A story-clustering method."""

    name: str

    def assign(
        self, new: Sequence[ItemText], existing: Sequence[tuple[ItemText, Hashable]]
    ) -> list[Hashable | NewStory]:
        """Place each new item in an existing story (by key) or in a new story (NewStory)."""
        ...

    def vectors(self, items: Sequence[ItemText]) -> list[bytes | None]:
        """What to store with each new item so it is never embedded again (None: the method keeps nothing)."""
        ...


def timestamp(item: ItemText) -> float:
    """Seconds since the epoch of the item's own publication time (naive times are taken as UTC)."""
    published = item.published
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return published.timestamp()
