"""Score the story clusterers on the labelled feeds (pairs, chained stories, point purity) and headlines (BCubed)."""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections.abc import Hashable, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.devsets import (
    FEEDS_DEV,
    HEADLINES_CSV,
    adjusted_rand,
    as_text,
    bcubed,
    chained,
    load_feeds,
    load_headlines,
    pairwise,
    point_purity,
    similarity_ceiling,
)
from service.stories.clustering import ItemText, NewStory, available_methods, get_clusterer
from service.stories.clustering.base import Clusterer, clustered_text, timestamp
from service.stories.clustering.features import MiniLM, embed_titles, tfidf_matrix

DEFAULT_CSV = HEADLINES_CSV


def load(path: Path) -> tuple[list[ItemText], list[str]]:
    """Headline items and their gold story labels, in published order."""
    return load_headlines(path)


def cluster(clusterer: Clusterer, items: Sequence[ItemText], batch: int | None) -> list[Hashable]:
    """Story label per item, from scratch or fed in chronological batches like feed polls."""
    if not batch:
        return [f"s{r.group}" if isinstance(r, NewStory) else r for r in clusterer.assign(items, [])]
    return polled(clusterer, items, [list(range(n, min(n + batch, len(items)))) for n in range(0, len(items), batch)])


def polled(clusterer: Clusterer, items: Sequence[ItemText], polls: Sequence[Sequence[int]]) -> list[Hashable]:
    """Story label per item, the items fed poll by poll (indexes into items). No story is frozen, so stored stories
    merge when a poll shows them to be one, under the older one's label, and a drifted one is split, as ingest_items
    does."""
    labels: dict[int, Hashable] = {}
    born: dict[Hashable, int] = {}
    index = {item.key: i for i, item in enumerate(items)}
    for number, poll in enumerate(polls):
        placed = clusterer.place([items[i] for i in poll], [(items[i], s) for i, s in labels.items()], frozen=())
        into = {s: min(group, key=lambda g: (born[g], str(g))) for group in placed.merged for s in group}

        labels = {i: into.get(s, s) for i, s in labels.items()}
        moves = [(index[key], result) for key, result in placed.moved.items()]
        for i, result in [*moves, *zip(poll, placed.stories, strict=True)]:
            story = f"b{number}-{result.group}" if isinstance(result, NewStory) else into.get(result, result)
            born.setdefault(story, number)
            labels[i] = story
    return [labels[i] for i in range(len(items))]


def score(name: str, items: Sequence[ItemText], gold: Sequence[str], batch: int | None, **options: float) -> str:
    """Run one method on the headline set and format its summary line (BCubed: every story there is large)."""
    clusterer = get_clusterer(name, **options)
    started = time.perf_counter()
    pred = cluster(clusterer, items, batch)
    seconds = time.perf_counter() - started
    p, r, f = bcubed(pred, gold)
    mode = f" incremental={batch}" if batch else ""
    return (
        f"headlines method={name}{mode} items={len(items)} stories={len(set(pred))}/{len(set(gold))} "
        f"bcubed_p={p:.3f} bcubed_r={r:.3f} bcubed_f1={f:.3f} ari={adjusted_rand(pred, gold):.3f} "
        f"seconds={seconds:.2f}"
    )


def score_feeds(
    name: str, folder: Path, batch: int | None, titles_only: bool = False, per_feed: bool = False, **options: float
) -> str:
    """Run one method on the labelled real feeds: pairs, BCubed, chained stories and the key points' purity."""
    labelled = load_feeds(folder)
    if titles_only:  # the same events told by headlines alone, as feeds without descriptions tell them
        for x in labelled:
            x.item = replace(x.item, summary="")
    items, gold = as_text(labelled), [x.event for x in labelled]
    clusterer = get_clusterer(name, **options)
    started = time.perf_counter()
    if per_feed:  # one poll per feed, in the order poll_all takes them (feeds added by file name)
        files = sorted({x.file for x in labelled})
        pred = polled(clusterer, items, [[i for i, x in enumerate(labelled) if x.file == f] for f in files])
    else:
        pred = cluster(clusterer, items, batch)
    seconds = time.perf_counter() - started
    p, r, f = pairwise(pred, gold)
    bp, br, bf = bcubed(pred, gold)
    purity, points = point_purity(labelled, pred)
    mode = (f" incremental={batch}" if batch else "") + (" titles_only" if titles_only else "")
    mode += " per_feed" if per_feed else ""
    return (
        f"feeds-dev method={name}{mode} items={len(items)} stories={len(set(pred))}/{len(set(gold))} "
        f"pair_p={p:.3f} pair_r={r:.3f} pair_f1={f:.3f} bcubed_p={bp:.3f} bcubed_r={br:.3f} bcubed_f1={bf:.3f} "
        f"chained={chained(pred, gold)} point_purity={purity:.3f} points={points} seconds={seconds:.2f}"
    )


def synthesise(items: Sequence[ItemText], count: int, days: float, seed: int) -> list[ItemText]:
    """Perturbed copies of dev headlines (a word dropped or swapped), spread over `days` of timestamps."""
    rng = random.Random(seed)
    start = min(item.published for item in items)
    out = []
    for i in range(count):
        base = items[rng.randrange(len(items))]
        words = base.title.split()
        if len(words) > 3 and rng.random() < 0.7:
            del words[rng.randrange(len(words))]
        if len(words) > 3 and rng.random() < 0.5:
            j = rng.randrange(len(words) - 1)
            words[j], words[j + 1] = words[j + 1], words[j]
        words.append(f"v{i % 97}")  # keep copies distinct so caches cannot hide the work
        when = start + timedelta(seconds=rng.uniform(0, days * 86400))
        out.append(ItemText(key=f"x{i}", title=" ".join(words), published=when, publisher=base.publisher))
    return sorted(out, key=lambda item: item.published)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale(name: str, items: Sequence[ItemText]) -> None:
    """Time the budgets: 10,000 items from scratch, then 500 new into 50,000 existing with stored vectors."""
    clusterer = get_clusterer(name)
    scratch = synthesise(items, 10_000, days=3, seed=1)
    started = time.perf_counter()
    clusterer.assign(scratch, [])
    print(
        f"scale method={name} from_scratch items=10000 seconds={time.perf_counter() - started:.2f} "
        f"peak_rss_mb={peak_rss_mb():.0f}",
        flush=True,
    )
    history = synthesise(items, 50_500, days=60, seed=2)
    embeds = name.startswith(("minilm", "hybrid", "event"))
    if embeds:  # production stores each item's vector when it arrives; only the in-window ones matter here
        recent = [i for i, item in enumerate(history) if item.published >= history[-1].published - timedelta(days=7)]
        stored = embed_titles([history[i].title for i in recent])
        for i, blob in zip(recent, stored, strict=True):
            history[i] = replace(history[i], vector=blob)
    new = [replace(item, vector=None) for item in history[-500:]]
    existing = [(item, f"story-{i // 20}") for i, item in enumerate(history[:-500])]
    if embeds:
        MiniLM.shared().cache.clear()
        started = time.perf_counter()
        vectors = embed_titles([item.title for item in new])
        print(f"scale method={name} embed new=500 seconds={time.perf_counter() - started:.2f}", flush=True)
        new = [replace(item, vector=blob) for item, blob in zip(new, vectors, strict=True)]
    started = time.perf_counter()
    clusterer.assign(new, existing)
    print(
        f"scale method={name} incremental new=500 existing=50000 stored_vectors={embeds} "
        f"seconds={time.perf_counter() - started:.2f} peak_rss_mb={peak_rss_mb():.0f}"
    )


def ceiling(name: str, folder: Path) -> None:
    """The best any cut of the method's pair cosine reaches on the labelled feeds, before linkage or merging."""
    clusterer = get_clusterer(name)
    labelled = load_feeds(folder)
    items, gold = as_text(labelled), [x.event for x in labelled]
    window = clusterer.window.total_seconds() if hasattr(clusterer, "window") else 72 * 3600.0
    if getattr(clusterer, "features", "tfidf") == "tfidf" or not hasattr(clusterer, "embeddings"):
        vectors = tfidf_matrix([clustered_text(item) for item in items]).toarray()
    else:
        vectors = clusterer.embeddings(items)
    same, best, precise = similarity_ceiling(vectors, [timestamp(item) for item in items], gold, window)
    print(
        f"ceiling method={name} same_event_pairs_in_window={same} best_pair_f1={best:.3f} "
        f"precision_at_recall_0.8={precise:.3f}"
    )


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV, help="the labelled headline set")
    parser.add_argument("--feeds", type=Path, default=FEEDS_DEV, help="the labelled feeds folder (events.csv)")
    parser.add_argument("--method", default=None, help=f"one of {available_methods()} (default: the package default)")
    parser.add_argument("--all", action="store_true", help="compare every registered method")
    parser.add_argument("--incremental", type=int, metavar="N", help="feed items in chronological batches of N")
    parser.add_argument("--per-feed", action="store_true", help="feed feeds-dev one poll per feed, as poll_all does")
    parser.add_argument("--scale", action="store_true", help="time 10k from scratch and 500 new into 50k")
    parser.add_argument("--threshold", type=float, help="override the method's linkage threshold")
    parser.add_argument("--merge-centres", type=float, help="override the event method's story-merge threshold")
    parser.add_argument("--titles-only", action="store_true", help="score feeds-dev with its descriptions dropped")
    parser.add_argument(
        "--ceiling", action="store_true", help="what the method's pair similarity alone can reach on feeds-dev"
    )
    args = parser.parse_args()
    items, gold = load(args.csv)
    name = args.method or get_clusterer().name
    if args.scale:
        scale(name, items)
        return
    if args.ceiling:
        ceiling(name, args.feeds)
        return
    options = {"threshold": args.threshold} if args.threshold is not None else {}
    if args.merge_centres is not None:
        options["merge_centres"] = args.merge_centres
    for method in available_methods() if args.all else [name]:
        print(score_feeds(method, args.feeds, args.incremental, args.titles_only, args.per_feed, **options), flush=True)
        print(score(method, items, gold, args.incremental, **options), flush=True)


if __name__ == "__main__":
    main()
