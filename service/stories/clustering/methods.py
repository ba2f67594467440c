"""The registered clustering methods: one graph-and-linkage pipeline with swappable text features."""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from service.stories.clustering.base import (
    DEFAULT_WINDOW,
    Clusterer,
    ItemText,
    NewStory,
    Placement,
    clustered_text,
    latin_script,
    mergeable,
    placement,
    primary_language,
    timestamp,
)
from service.stories.clustering.boilerplate import event_texts
from service.stories.clustering.centroids import merge_close
from service.stories.clustering.features import (
    DIMENSIONS,
    VECTOR_DTYPE,
    MiniLM,
    decode_vector,
    minilm_available,
    tfidf_matrix,
)
from service.stories.clustering.graph import Space, expand, reach, similarity_edges
from service.stories.clustering.linkage import average_linkage

Edges = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class GraphClusterer:
    """Vectorise, optionally expand by neighbours, build a windowed sparse graph, then average-link."""

    name: str
    features: str = "tfidf"  # "tfidf", "minilm" or "hybrid" (embedding beside TF-IDF)
    threshold: float = 0.1
    lexical_weight: float = 0.3  # share of the TF-IDF cosine in the hybrid similarity
    expand_k: int = 0
    expand_beta: float = 0.0
    expand_floor: float = 0.0
    edge_k: int = 40
    strongest: float = 0.0  # two clusters merge only if some pair between them is at least this similar
    complete: bool = False  # ... and (when set) only if every pair between them is above `floor`
    same_publisher_floor: float = 0.0  # two items of one publisher are linked only this close (they rarely
    # write two items on one happening)
    vouch: bool = False  # a close-enough pair of one publisher below that floor neither links nor blocks: the item
    # joins when the other publishers' items vouch for it
    describe: bool = False  # embed the headline with the start of the de-boilerplated description
    merge_centres: float = 0.0  # then merge two stories whose centres are this close (cosine), when other
    # publishers vouch for it (0: no second stage)
    floor: float = 0.05
    window: timedelta = DEFAULT_WINDOW
    model: MiniLM | None = field(default=None, repr=False)

    def embeddings(self, items: Sequence[ItemText]) -> np.ndarray:
        """Unit-length embeddings, taken from stored `vector` bytes where present and computed otherwise."""
        out = np.zeros((len(items), DIMENSIONS), np.float32)
        missing: list[int] = []
        for i, item in enumerate(items):
            stored = decode_vector(item.vector)
            if stored is None:
                missing.append(i)
            else:
                out[i] = stored
        if missing:
            model = self.model or MiniLM.shared()
            todo = [items[i] for i in missing]
            out[missing] = model.encode(event_texts(todo) if self.describe else [clustered_text(item) for item in todo])
        return out

    def vectors(self, items: Sequence[ItemText]) -> list[bytes | None]:
        """Each item's embedding in the stored format (the same text `assign` embeds); None for lexical methods."""
        if self.features == "tfidf":
            return [None] * len(items)
        return [row.astype(VECTOR_DTYPE).tobytes() for row in self.embeddings(items)]

    def space(self, items: Sequence[ItemText]) -> tuple[Space, Any]:
        """The items' vectors, and their TF-IDF rows when computed (for judging non-Latin pairs)."""
        if self.features == "tfidf":
            lexical = tfidf_matrix([clustered_text(item) for item in items])
            return Space(sparse=lexical), lexical
        dense = self.embeddings(items)
        if self.features == "minilm":
            return Space(dense=dense), None
        lexical = tfidf_matrix([clustered_text(item) for item in items])
        w = self.lexical_weight
        return Space(dense=dense * np.float32(np.sqrt(1 - w)), sparse=lexical * np.float32(np.sqrt(w))), lexical

    def assign(
        self, new: Sequence[ItemText], existing: Sequence[tuple[ItemText, Hashable]]
    ) -> list[Hashable | NewStory]:
        """Place each new item in an existing story or a new one; stored stories never merge."""
        return self.place(new, existing).stories

    def place(
        self,
        new: Sequence[ItemText],
        existing: Sequence[tuple[ItemText, Hashable]],
        frozen: Collection[Hashable] | None = None,
    ) -> Placement:
        """Cluster the new items with the stored ones within the window. The stored stories the new items reach (an
        edge to one of them) and that are not frozen (None: all are) are clustered anew with them, as from scratch;
        two that land in one cluster merge. Other stored stories are fixed clusters that new items may join."""
        if not new:
            return Placement([])
        window = self.window.total_seconds()
        new_times = [timestamp(item) for item in new]
        lo, hi = min(new_times) - window, max(new_times) + window
        nearby = [(item, story) for item, story in existing if lo <= timestamp(item) <= hi]
        unsorted = np.asarray(new_times + [timestamp(item) for item, _ in nearby], dtype=np.float64)
        order = np.argsort(unsorted, kind="stable")
        given = list(new) + [item for item, _ in nearby]
        stories: list[Hashable | None] = [None] * len(new) + [story for _, story in nearby]
        pool = [given[i] for i in order]
        anchors = [stories[i] for i in order]
        times = unsorted[order] - unsorted.min()
        allowed = mergeable(pool, anchors, frozen)
        ids = {a: n for n, a in enumerate(allowed)}
        story = np.asarray([-1 if a is None else ids[a] for a in anchors], np.int64)
        may_merge = np.asarray(list(allowed.values()), bool)
        x, lexical = self.space(pool)
        if self.expand_k:
            x = expand(x, times, window, self.expand_k, self.expand_beta, self.expand_floor)
        shut = (story >= 0) & ~np.append(may_merge, False)[story]
        graph, touched = reach(similarity_edges(x, times, window, self.edge_k, self.floor, shut), story, may_merge)
        names = list(ids)
        sealed = set(ids) - {names[n] for n in touched.tolist()}
        loose = [a if a in sealed else None for a in anchors]  # the stories the new items reach are clustered anew
        edges, own = self._respect_languages(pool, graph, lexical)
        labels = average_linkage(
            times.tolist(), edges, loose, self.threshold, window, self.edge_k, self.strongest, self.complete, own
        )
        if self.merge_centres > 0 and x.dense is not None:
            publishers = [item.publisher.casefold() for item in pool]
            labels = merge_close(labels, x.dense, times.tolist(), publishers, loose, self.merge_centres, window)
        position = np.empty(len(order), np.int64)
        position[order] = np.arange(len(order))
        return placement(labels, anchors, position[: len(new)].tolist(), sealed, [item.key for item in pool])

    def _respect_languages(
        self, pool: Sequence[ItemText], edges: Edges, lexical: Any
    ) -> tuple[Edges, np.ndarray | None]:
        """Drop pairs in two different declared languages; judge non-Latin pairs on shared words only; mark (or, without
        `vouch`, drop) pairs of one publisher below its floor."""
        rows, cols, sims = edges
        languages = np.asarray([primary_language(item) or "" for item in pool], dtype=object)
        keep = (languages[rows] == "") | (languages[cols] == "") | (languages[rows] == languages[cols])
        own = None
        if self.same_publisher_floor > 0:
            publishers = np.asarray([item.publisher.casefold() for item in pool], dtype=object)
            unknown = publishers[rows] == ""  # no publisher named: nothing to go by
            own = ~unknown & (publishers[rows] == publishers[cols]) & (sims < self.same_publisher_floor)
            if not self.vouch:
                keep &= ~own
        if self.features != "tfidf":
            latin = np.asarray([latin_script(item.title) for item in pool])
            foreign = ~(latin[rows] & latin[cols])
            if foreign.any():
                if lexical is None:
                    lexical = tfidf_matrix([clustered_text(item) for item in pool])
                pairs = np.nonzero(foreign)[0]
                sims = sims.copy()
                sims[pairs] = np.asarray(lexical[rows[pairs]].multiply(lexical[cols[pairs]]).sum(axis=1)).ravel()
                keep &= sims >= self.floor
        return (rows[keep], cols[keep], sims[keep]), (own[keep] if own is not None and self.vouch else None)


def _tfidf_avg(**options: Any) -> Clusterer:
    """Title TF-IDF with average linkage: the dependency-light reference method."""
    defaults = {"name": "tfidf-avg", "features": "tfidf", "threshold": 0.02, "floor": 0.02, "edge_k": 100}
    return GraphClusterer(**{**defaults, **options})


def _tfidf_expand(**options: Any) -> Clusterer:
    """TF-IDF whose vectors borrow from their nearest neighbours before linking."""
    defaults = {
        "name": "tfidf-expand",
        "threshold": 0.06,
        "floor": 0.02,
        "edge_k": 100,
        "expand_k": 10,
        "expand_beta": 1.0,
        "expand_floor": 0.2,
    }
    return GraphClusterer(**{**defaults, **options})


def _minilm_avg(**options: Any) -> Clusterer:
    """MiniLM sentence embeddings with average linkage."""
    defaults = {
        "name": "minilm-avg",
        "features": "minilm",
        "threshold": 0.3,
        "floor": 0.1,
        "edge_k": 100,
        "strongest": 0.0,
    }
    return GraphClusterer(**{**defaults, **options})


def _minilm_expand(**options: Any) -> Clusterer:
    """MiniLM embeddings expanded by their nearest neighbours, then average linkage."""
    defaults = {
        "name": "minilm-expand",
        "features": "minilm",
        "threshold": 0.35,
        "floor": 0.1,
        "edge_k": 100,
        "expand_k": 10,
        "expand_beta": 1.0,
        "expand_floor": 0.4,
    }
    return GraphClusterer(**{**defaults, **options})


def _hybrid_expand(**options: Any) -> Clusterer:
    """MiniLM embedding beside title TF-IDF (80:20 cosine mix), neighbour-expanded, then average linkage."""
    defaults = {
        "name": "hybrid-expand",
        "features": "hybrid",
        "lexical_weight": 0.2,
        "threshold": 0.2,
        "floor": 0.1,
        "edge_k": 40,
        "expand_k": 10,
        "expand_beta": 1.0,
        "expand_floor": 0.3,
        "strongest": 0.5,
    }
    return GraphClusterer(**{**defaults, **options})


def _event(**options: Any) -> Clusterer:
    """One story per happening: MiniLM of headline + de-boilerplated description, average linkage in which an
    item must be close to every member (complete floor), and a publisher's second item on a story needs the
    other publishers' items to vouch for it (or to be very close to its first). Then two such stories merge when
    their centres are as close as a publisher's own two items must be (0.7) and other publishers vouch for it."""
    defaults = {
        "name": "event",
        "features": "minilm",
        "describe": True,
        "threshold": 0.65,
        "floor": 0.4,
        "vouch": True,
        "complete": True,
        "same_publisher_floor": 0.7,
        "edge_k": 100,
        "merge_centres": 0.7,
    }
    return GraphClusterer(**{**defaults, **options})


METHODS: dict[str, Callable[..., Clusterer]] = {
    "tfidf-avg": _tfidf_avg,
    "tfidf-expand": _tfidf_expand,
    "minilm-avg": _minilm_avg,
    "minilm-expand": _minilm_expand,
    "hybrid-expand": _hybrid_expand,
    "event": _event,
}
DEFAULT_METHOD = "event"
FALLBACK_METHOD = "tfidf-expand"


def available_methods() -> list[str]:
    """Registered methods that can run on this installation."""
    return [name for name in METHODS if not name.startswith(("minilm", "hybrid", "event")) or minilm_available()]


def get_clusterer(name: str | None = None, **options: Any) -> Clusterer:
    """Build a clusterer by name; None picks DEFAULT_METHOD, or FALLBACK_METHOD without the model."""
    if name is None:
        name = DEFAULT_METHOD if minilm_available() else FALLBACK_METHOD
    try:
        factory = METHODS[name]
    except KeyError:
        raise ValueError(f"unknown clustering method {name!r}; choose from {sorted(METHODS)}") from None
    return factory(**options)
