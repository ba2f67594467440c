"""Average-linkage agglomerative clustering on a sparse graph, with existing stories as fixed anchors."""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Sequence

import numpy as np


def _pairs_within(a: list[float], b: list[float], window: float) -> int:
    """How many (x in a, y in b) pairs lie within the window: only those pairs were ever compared."""
    lo, hi = min(a[0], b[0]), max(a[-1], b[-1])
    if hi - lo <= window:
        return len(a) * len(b)
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return sum(bisect_right(large, t + window) - bisect_left(large, t - window) for t in small)


def average_linkage(
    times: Sequence[float],
    edges: tuple[np.ndarray, np.ndarray, np.ndarray],
    anchors: Sequence[Hashable | None],
    threshold: float,
    window: float,
    k: int,
    strongest: float = 0.0,
    complete: bool = False,
    own: np.ndarray | None = None,
) -> list[int]:
    """Merge clusters while their average-linkage similarity on the k-NN graph is >= threshold.

    The edge sum is divided by the pairs compared within the window, but never by more than the
    k * min(|A|, |B|) edges a k-NN graph can hold between them (nor by fewer than the edges present),
    so stories larger than k still read as dense. Items with the same anchor (an existing story) start
    as one cluster, and clusters with different anchors never merge; clusters also need one edge of at
    least `strongest` between them, so two loosely related singletons stay apart. With `complete`, every pair
    compared between them must be an edge (the graph holds only pairs above its floor), so an item joins a
    story only when it is close to all of its members, never through one look-alike. Edges marked in `own`
    (two items of one publisher, not close enough to link alone) count for the complete floor but not for the
    average: such an item joins only when the other members vouch for it, and the vouching pairs must outnumber
    them (a merge mostly of one publisher's items is never decided by its few other pairs). Returns a label per item.
    """
    n = len(times)
    label = list(range(n))
    first: dict[Hashable, int] = {}
    for i, anchor in enumerate(anchors):
        if anchor is not None:
            label[i] = first.setdefault(anchor, i)
    members: dict[int, list[float]] = {}
    for i in range(n):
        members.setdefault(label[i], []).append(times[i])
    for stamps in members.values():
        stamps.sort()
    anchor_of = {c: anchors[c] for c in members}
    links: dict[int, dict[int, list[float]]] = {c: {} for c in members}
    excused = [False] * len(edges[0]) if own is None else own.tolist()
    for i, j, s, mute in zip(edges[0].tolist(), edges[1].tolist(), edges[2].tolist(), excused, strict=True):
        a, b = label[i], label[j]
        if a != b:
            link = links[a].get(b)
            if link is None:
                link = links[a][b] = links[b][a] = [0.0, 0.0, 0.0, 0.0]
            link[1] += 1.0
            if mute:
                link[3] += 1.0
            else:
                link[0] += s
                link[2] = max(link[2], s)

    def score(a: int, b: int) -> float:
        """Average-linkage similarity of clusters a and b."""
        total, count, top, mute = links[a][b]
        if top < strongest or count <= 2 * mute:
            return 0.0
        small = min(len(members[a]), len(members[b]))
        pairs = min(_pairs_within(members[a], members[b], window), k * small)
        if complete and count < pairs:
            return 0.0
        return total / (max(pairs, count, 1.0) - mute)

    def blocked(a: int, b: int) -> bool:
        """Two different existing stories must stay apart."""
        return anchor_of[a] is not None and anchor_of[b] is not None and anchor_of[a] != anchor_of[b]

    heap: list[tuple[float, int, int]] = []
    for a, row in links.items():
        for b in row:
            if a < b and not blocked(a, b):
                s = score(a, b)
                if s >= threshold:
                    heap.append((-s, a, b))
    heapq.heapify(heap)
    parent = {c: c for c in members}
    while heap:
        negative, a, b = heapq.heappop(heap)
        if a not in members or b not in members or b not in links[a] or blocked(a, b):
            continue
        if abs(score(a, b) + negative) > 1e-9:
            continue  # stale entry: a fresher one for this pair is in the heap
        keep, gone = (a, b) if len(members[a]) >= len(members[b]) else (b, a)
        if anchor_of[gone] is not None:
            keep, gone = gone, keep
        members[keep] = sorted(members[keep] + members.pop(gone))
        parent[gone] = keep
        for other, (total, count, top, mute) in links.pop(gone).items():
            del links[other][gone]
            if other != keep:
                link = links[keep].get(other)
                if link is None:
                    link = links[keep][other] = links[other][keep] = [0.0, 0.0, 0.0, 0.0]
                link[0] += total
                link[1] += count
                link[2] = max(link[2], top)
                link[3] += mute
        for other in links[keep]:
            if not blocked(keep, other):
                s = score(keep, other)
                if s >= threshold:
                    heapq.heappush(heap, (-s, min(keep, other), max(keep, other)))
    result = []
    for i in range(n):
        c = label[i]
        while parent[c] != c:
            c = parent[c]
        result.append(c)
    return result
