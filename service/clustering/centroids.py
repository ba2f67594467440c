"""Second stage: two finished stories about one happening merge when their centres are close and others vouch."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np


class _Story:
    """A cluster from the first stage: its vector sum, time span, publishers and anchor (an existing story)."""

    __slots__ = ("anchor", "first", "last", "publishers", "size", "total")

    def __init__(self, vector: np.ndarray, time: float, publisher: str, anchor: Hashable | None) -> None:
        self.total = vector.astype(np.float64)
        self.first = self.last = time
        self.publishers: Counter[str] = Counter([publisher])
        self.size = 1
        self.anchor = anchor

    def absorb(self, other: _Story) -> None:
        """Take the other story's members."""
        self.total = self.total + other.total
        self.first, self.last = min(self.first, other.first), max(self.last, other.last)
        self.publishers += other.publishers
        self.size += other.size
        self.anchor = self.anchor if self.anchor is not None else other.anchor

    def one_voice(self) -> bool:
        """Several items all from one publisher: nobody else has confirmed what they report together."""
        return self.size > 1 and len(self.publishers) == 1 and "" not in self.publishers


def _vouched(a: _Story, b: _Story) -> bool:
    """Most pairs across the two stories come from two different publishers (a publisher's own look-alikes
    are no evidence), and neither side is one publisher's items alone."""
    own = sum(n * b.publishers[p] for p, n in a.publishers.items() if p)
    return 2 * own < a.size * b.size and not a.one_voice() and not b.one_voice()


def merge_close(
    labels: Sequence[int],
    vectors: np.ndarray,
    times: Sequence[float],
    publishers: Sequence[str],
    anchors: Sequence[Hashable | None],
    threshold: float,
    window: float,
) -> list[int]:
    """Merge first-stage stories while the cosine of their centres (mean member vectors) is >= threshold.

    A centre averages its members, so a story's noise shrinks as it grows: two halves of one happening, each
    confirmed by several items, have centres much closer than any pair of their members, while a single item
    must be as close as a pair. Only stories within the window of each other, vouched for by other publishers,
    and not two different existing stories, merge. Returns a label per item (a first-stage label).
    """
    stories: dict[int, _Story] = {}
    for i, label in enumerate(labels):
        story = _Story(vectors[i], times[i], publishers[i], anchors[i])
        if label in stories:
            stories[label].absorb(story)
        else:
            stories[label] = story
    keys = sorted(stories)
    if len(keys) < 2:
        return list(labels)
    held = [stories[k] for k in keys]
    centres = np.stack([s.total for s in held])
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    firsts = np.asarray([s.first for s in held])
    lasts = np.asarray([s.last for s in held])
    alive = np.ones(len(held), bool)
    solo = np.asarray([s.one_voice() for s in held])
    anchored = np.asarray([s.anchor is not None for s in held])

    def allowed(a: int, b: int) -> bool:
        x, y = held[a], held[b]
        if x.anchor is not None and y.anchor is not None:
            return False
        return max(x.first, y.first) - min(x.last, y.last) <= window and _vouched(x, y)

    def candidates(rows: np.ndarray) -> list[tuple[float, int, int, int, int]]:
        """Heap entries for the close, allowed pairs between `rows` and every live story within the window."""
        sims = centres[rows] @ centres.T
        near = np.maximum(firsts[rows, None], firsts[None, :]) - np.minimum(lasts[rows, None], lasts[None, :])
        free = alive & ~solo  # cheap tests first: only the pairs left are checked one by one
        close = (sims >= threshold) & (near <= window) & free[None, :] & free[rows, None]
        hits = np.nonzero(close & ~(anchored[rows, None] & anchored[None, :]))
        found = []
        for r, c in zip(hits[0].tolist(), hits[1].tolist(), strict=True):
            a, b = int(rows[r]), c
            if a != b and allowed(a, b):
                a, b = min(a, b), max(a, b)
                found.append((-float(sims[r, c]), a, b, version[a], version[b]))
        return found

    version = [0] * len(held)
    heap: list[tuple[float, int, int, int, int]] = []
    for start in range(0, len(held), 512):
        heap.extend(candidates(np.arange(start, min(start + 512, len(held)))))
    heapq.heapify(heap)
    parent = list(range(len(held)))
    while heap:
        _, a, b, va, vb = heapq.heappop(heap)
        if not (alive[a] and alive[b]) or version[a] != va or version[b] != vb or not allowed(a, b):
            continue
        held[a].absorb(held[b])
        alive[b] = False
        parent[b] = a
        version[a] += 1
        total = held[a].total
        centres[a] = total / max(float(np.linalg.norm(total)), 1e-12)
        firsts[a], lasts[a] = held[a].first, held[a].last
        solo[a], anchored[a] = held[a].one_voice(), held[a].anchor is not None
        for entry in candidates(np.asarray([a])):
            heapq.heappush(heap, entry)
    position = {k: n for n, k in enumerate(keys)}
    out = []
    for label in labels:
        n = position[label]
        while parent[n] != n:
            n = parent[n]
        out.append(keys[n])
    return out
