"""Sparse similarity graphs over time-sorted items, compared only within the window, and neighbour expansion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

BLOCK = 256


@dataclass
class Space:
    """Rows of a dense part (embeddings) beside a sparse part (TF-IDF); the row dot product is the similarity."""

    dense: np.ndarray | None = None
    sparse: Any = None  # scipy CSR or None

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.dense.shape[0] if self.dense is not None else self.sparse.shape[0])

    def similarities(self, start: int, stop: int, lo: int, hi: int) -> np.ndarray:
        """Dense similarities of rows start:stop to rows lo:hi."""
        out = np.zeros((stop - start, hi - lo), np.float32)
        if self.dense is not None:
            out += self.dense[start:stop] @ self.dense[lo:hi].T
        if self.sparse is not None:
            out += (self.sparse[start:stop] @ self.sparse[lo:hi].T).toarray()
        return out

    def mixed(self, weights: Any, beta: float) -> Space:
        """Each row plus beta times the weighted mean of other rows, rescaled to unit length."""
        dense = None if self.dense is None else self.dense + beta * np.asarray(weights @ self.dense)
        sparse = None if self.sparse is None else sp.csr_matrix(self.sparse + beta * (weights @ self.sparse))
        squares = np.zeros(self.n, np.float64)
        if dense is not None:
            squares += np.einsum("ij,ij->i", dense, dense)
        if sparse is not None:
            squares += np.asarray(sparse.multiply(sparse).sum(axis=1)).ravel()
        scale = (1.0 / np.maximum(np.sqrt(squares), 1e-9)).astype(np.float32)
        if dense is not None:
            dense = (dense * scale[:, None]).astype(np.float32)
        if sparse is not None:
            sparse = sp.csr_matrix(sp.diags(scale) @ sparse, dtype=np.float32)
        return Space(dense, sparse)


def top_neighbours(
    x: Space, times: np.ndarray, window: float, k: int, floor: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's k most similar rows within the window with similarity >= floor, as (rows, cols, sims).

    `times` must be sorted ascending: each block of rows is compared only with the rows whose times can
    lie within the window, so the cost grows with the window's population, not with the whole history.
    """
    n = x.n
    rows: list[np.ndarray] = [np.zeros(0, np.int64)]
    cols: list[np.ndarray] = [np.zeros(0, np.int64)]
    vals: list[np.ndarray] = [np.zeros(0, np.float32)]
    for start in range(0, n if k > 0 else 0, BLOCK):
        stop = min(start + BLOCK, n)
        lo = int(np.searchsorted(times, times[start] - window, "left"))
        hi = int(np.searchsorted(times, times[stop - 1] + window, "right"))
        sims = x.similarities(start, stop, lo, hi)
        sims[np.abs(times[start:stop, None] - times[None, lo:hi]) > window] = 0.0
        local = np.arange(start, stop)
        sims[local - start, local - lo] = 0.0
        kk = min(k, hi - lo - 1)
        if kk <= 0:
            continue
        # Ties are broken by column index so the result never depends on argpartition's internals.
        keyed = sims - np.arange(hi - lo, dtype=np.float32)[None, :] * 1e-9
        part = np.argpartition(-keyed, kk - 1, axis=1)[:, :kk]
        picked = np.take_along_axis(sims, part, axis=1)
        keep = picked >= floor
        rows.append(np.nonzero(keep)[0] + start)
        cols.append(part[keep] + lo)
        vals.append(picked[keep])
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def expand(x: Space, times: np.ndarray, window: float, k: int, beta: float, floor: float) -> Space:
    """Add to each vector the similarity-weighted mean of its k nearest neighbours, so that two headlines
    that word the same event differently meet through the headlines between them. Only neighbours at
    least `floor` similar count, so a small batch of unrelated items is not blended together."""
    n = x.n
    if n < 2 or k <= 0 or beta <= 0:
        return x
    rows, cols, sims = top_neighbours(x, times, window, k, floor=max(floor, 1e-6))
    weights = sp.csr_matrix((sims, (rows, cols)), shape=(n, n))
    totals = np.asarray(weights.sum(axis=1)).ravel()
    weights = sp.csr_matrix(sp.diags((1.0 / np.maximum(totals, 1e-9)).astype(np.float32)) @ weights)
    return x.mixed(weights, beta)


def similarity_edges(
    x: Space, times: np.ndarray, window: float, k: int, floor: float, fixed: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Symmetric k-NN graph as arrays (i, j, sim) with i < j, leaving out pairs of two fixed (existing) items."""
    n = x.n
    rows, cols, sims = top_neighbours(x, times, window, k, floor)
    keep = ~(fixed[rows] & fixed[cols])
    rows, cols, sims = rows[keep], cols[keep], sims[keep]
    lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
    graph = sp.coo_matrix((sims, (lo, hi)), shape=(n, n)).tocsr()  # duplicates summed: undo below
    count = sp.coo_matrix((np.ones_like(sims), (lo, hi)), shape=(n, n)).tocsr()
    graph.sort_indices()
    count.sort_indices()
    merged = graph.tocoo()
    # A pair found from both ends carries the same similarity twice; dividing by the count restores it.
    values = merged.data / count.tocoo().data
    return merged.row.astype(np.int64), merged.col.astype(np.int64), values.astype(np.float32)


def reach(
    edges: tuple[np.ndarray, np.ndarray, np.ndarray], story: np.ndarray, may_merge: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """The stored stories (`story` >= 0 per row, -1 for a new item) that a new item has an edge to, of those that
    `may_merge`; and the edges without pairs of two stored items of which one is not among them (such a pair
    can never join two stories, so the linkage need not see it)."""
    rows, cols, sims = edges
    a, b = story[rows], story[cols]
    touched = np.unique(np.concatenate([b[(a < 0) & (b >= 0)], a[(b < 0) & (a >= 0)]]))
    touched = touched[may_merge[touched]]
    free = np.isin(story, touched)
    keep = (a < 0) | (b < 0) | (free[rows] & free[cols])
    return (rows[keep], cols[keep], sims[keep]), touched
