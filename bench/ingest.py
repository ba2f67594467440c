"""The production path of a feed poll, timed: 500 new items into a PostgreSQL store of 50,000, clustered and stored.

Run by hand (not in CI): `.venv/bin/python bench/ingest.py [--store 50000] [--new 500]`; `--feeds-dev N` instead
scores the labelled feeds polled N items at a time through the same path, by pairs.
The store is the dev set's headlines repeated with shifted times (as `bench/clustering.py --scale` does), with
their stored embeddings, so the poll embeds only its own new items, as it does in production.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from sqlalchemy import insert, select, text

from bench.clustering import DEFAULT_CSV, load, synthesise
from bench.devsets import chained, load_feeds, pairwise
from service.core.db import engine_for, session_factory
from service.models import Item, Story, utcnow
from service.ops import migrate
from service.stories.clustering import get_clusterer
from service.stories.items import ItemInput, ingest_items

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def fresh_database(name: str) -> str:
    """An empty, migrated PostgreSQL database for this run."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    migrate.upgrade(url)
    return url


def fill_store(url: str, store: list, clusterer) -> float:
    """Bulk-insert the store: one story per synthetic event copy, each item with its embedding; seconds taken."""
    started = time.perf_counter()
    first_of_title = {item.title: item for item in store}  # the store's items were embedded when they came in
    vectors = dict(zip(first_of_title, clusterer.vectors(list(first_of_title.values())), strict=True))
    now = utcnow()
    with engine_for(url).begin() as conn:
        story_ids: dict[str, int] = {}
        for label in sorted({str(item.key).split(":")[0] for item in store}):
            story_ids[label] = conn.execute(
                insert(Story).returning(Story.id),
                {
                    "dedup_key": hashlib.sha256(label.encode()).hexdigest(),
                    "title": label,
                    "category": "World News",
                    "key_points": [],
                    "source_count": 1,
                    "sources": [],
                    "origin": "feed",
                    "origin_ref": "",
                    "received_at": now,
                    "updated_at": now,
                    "hand_written": False,
                },
            ).scalar_one()
        rows = [
            {
                "dedup_key": hashlib.sha256(f"store:{item.key}".encode()).hexdigest(),
                "story_id": story_ids[str(item.key).split(":")[0]],
                "publisher": item.publisher or "Store",
                "title": item.title,
                "summary": "",
                "category": "World News",
                "published_at": item.published,
                "dated": True,
                "first_seen_at": now,
                "vector": vectors.get(item.title),
                "origin": "feed",
            }
            for item in store
        ]
        for start in range(0, len(rows), 5000):
            conn.execute(insert(Item), rows[start : start + 5000])
    return time.perf_counter() - started


def feeds_dev_through_ingest(poll_size: int, method: str | None) -> None:
    """The labelled feeds through the production path in polls of `poll_size`, scored by pairs of items."""
    labelled = load_feeds()
    url = fresh_database("newsletter_bench_feeds_dev")
    clusterer = get_clusterer(method)
    merged = 0
    with session_factory(url)() as session:
        for start in range(0, len(labelled), poll_size):
            merged += len(
                ingest_items(session, [x.item for x in labelled[start : start + poll_size]], clusterer=clusterer).merged
            )
            session.commit()
        stored = session.execute(select(Item.dedup_key, Item.story_id)).all()
    events = {x.item.dedup_key(): x.event for x in labelled}
    pred, gold = [row.story_id for row in stored], [events[row.dedup_key] for row in stored]
    p, r, f = pairwise(pred, gold)
    print(
        f"feeds-dev through ingest_items polls_of={poll_size} items={len(stored)} merged={merged} "
        f"pair_p={p:.3f} pair_r={r:.3f} pair_f1={f:.3f} chained={chained(pred, gold)}"
    )


def main() -> None:
    """Build the store, then time one poll's worth of new items through ingest_items."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=int, default=50_000)
    parser.add_argument("--new", type=int, default=500)
    parser.add_argument("--method", default=None)
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--feeds-dev", type=int, metavar="N", help="score feeds-dev polled N items at a time instead")
    args = parser.parse_args()
    if args.feeds_dev:
        feeds_dev_through_ingest(args.feeds_dev, args.method)
        return
    items, _ = load(args.csv)
    store = synthesise(items, args.store, days=120, seed=7)  # 50,000 items over 120 days: ~1,250 in any 72 h
    store = [replace(item, key=f"s{n // 10}:{n}") for n, item in enumerate(store)]  # stories of ten items
    latest = max(item.published for item in store)
    rng = random.Random(11)
    new = [
        ItemInput(
            publisher=item.publisher or "Poll",
            title=item.title,
            category="World News",
            published=latest + timedelta(minutes=rng.randint(-600, 60)),
            identity=f"new:{n}:{item.key}",
        )
        for n, item in enumerate(rng.sample(items, min(args.new, len(items))))
    ]
    clusterer = get_clusterer(args.method)
    url = fresh_database("newsletter_bench_ingest")
    filled = fill_store(url, store, clusterer)
    with session_factory(url)() as session:
        session.execute(text("SELECT 1"))
        started = time.perf_counter()
        result = ingest_items(session, new, clusterer=clusterer)
        session.commit()
        seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"method={clusterer.name} store={len(store)} new={len(new)} stored={result.created} "
        f"new_stories={result.new_stories} touched_stories={len(result.stories)} seconds={seconds:.2f} "
        f"store_fill_seconds={filled:.1f} peak_rss_mb={rss:.0f}"
    )


if __name__ == "__main__":
    main()
