"""Admin at scale on PostgreSQL: import a 1,000,000-row CSV as a background job, then time subscriber search pages.

    .venv/bin/python bench/admin_scale.py [--rows 1000000] [--database-url postgresql://...] [--runs 20]

Without --database-url it creates a fresh database `bench_admin` on postgresql://postgres@127.0.0.1:5432 and
drops it at the end. The import is pre-confirmed (nobody is mailed), run through run_import_job as a worker runs it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.core.config import Settings
from service.core.db import engine_for, session_factory
from service.lists.rules import create_list
from service.models import utcnow
from service.ops import migrate
from service.readers.subscribers.jobs import create_import_job, run_import_job
from service.readers.subscribers.search import search_subscribers

SERVER = "postgresql://postgres@127.0.0.1:5432"
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Lee"]


class NoMail:
    """A pre-confirmed import mails nobody; this notifier proves it by refusing."""

    def confirmations(self, subscriber_ids: Sequence[int], list_id: int) -> None:
        raise AssertionError("a pre-confirmed import must not send confirmations")


def write_csv(path: Path, rows: int) -> None:
    """A file like an export from another service: email, name, timezone."""
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name,timezone\n")
        for n in range(rows):
            out.write(f"reader{n}@mail{n % 997}.example.org,{FIRST[n % 10]} {LAST[(n // 10) % 10]}{n},Europe/Paris\n")


def timed(label: str, runs: int, call: Callable[[], object]) -> None:
    """Median and p95 of a search page."""
    call()  # warm the cache, as a live server would be
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(f"search {label:<34} median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    fresh = args.database_url is None
    url = args.database_url or f"{SERVER}/bench_admin"
    if fresh:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "bench_admin" WITH (FORCE)')
            conn.execute('CREATE DATABASE "bench_admin"')
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        run(url, args.rows, args.runs)
    finally:
        engine_for(url).dispose()
        if fresh:
            with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
                conn.execute('DROP DATABASE IF EXISTS "bench_admin" WITH (FORCE)')


def run(url: str, rows: int, runs: int) -> None:
    """Import, then search."""
    migrate.upgrade(url)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, database_url=url, data_dir=Path(tmp), import_max_bytes=2**34)
        source = Path(tmp) / "readers.csv"
        start = time.perf_counter()
        write_csv(source, rows)
        print(
            f"csv: {rows:,} rows, {source.stat().st_size / 1e6:.1f} MB written in {time.perf_counter() - start:.1f} s",
            flush=True,
        )
        session = session_factory(url)()
        create_list(session, slug="world-news", name="World News daily")
        create_list(session, slug="science", name="Science weekly")
        session.commit()
        start = time.perf_counter()
        with source.open("rb") as handle:
            job = create_import_job(
                session,
                settings,
                list_slug="world-news",
                filename="readers.csv",
                source=handle,
                confirmed=True,
                reason="benchmark: moved from another service",
                created_by="bench",
            )
        job = run_import_job(settings, job.id, notifier=NoMail())
        took = time.perf_counter() - start
        print(
            f"import: {job.status}, {job.rows:,} rows, {job.added:,} added, {job.skipped} rejected in {took:.1f} s "
            f"= {job.rows / took:,.0f} rows/s",
            flush=True,
        )
        assert job.status == "done" and job.added == rows, job.error
        _vary(session)
        list_filter = dict(list_slug="world-news", status="unsubscribed")
        timed("page 1, no query", runs, lambda: search_subscribers(session))
        timed("list + status=unsubscribed", runs, lambda: search_subscribers(session, **list_filter))
        timed(
            "list + status=paused", runs, lambda: search_subscribers(session, list_slug="world-news", status="paused")
        )
        timed(
            "list + status=confirmed",
            runs,
            lambda: search_subscribers(session, list_slug="world-news", status="confirmed"),
        )
        timed("status=unconfirmed (any list)", runs, lambda: search_subscribers(session, status="unconfirmed"))
        timed("address fragment 'reader4242'", runs, lambda: search_subscribers(session, query="reader4242"))
        timed("address fragment 'mail17.example'", runs, lambda: search_subscribers(session, query="mail17.example"))
        timed("name fragment 'hopper77'", runs, lambda: search_subscribers(session, query="hopper77"))
        timed(
            "name fragment 'grace' + list",
            runs,
            lambda: search_subscribers(session, query="grace", list_slug="world-news"),
        )
        timed("no match 'zzqx'", runs, lambda: search_subscribers(session, query="zzqx"))
        first = search_subscribers(session)
        timed("page 2 via keyset", runs, lambda: search_subscribers(session, after=first.next_after))
        deep = search_subscribers(session, after=rows // 2)
        assert deep.rows, "keyset pages reach the middle"
        timed("page at the middle via keyset", runs, lambda: search_subscribers(session, after=rows // 2))
        session.close()


def _vary(session) -> None:
    """Give the readers the mix a real list has: some unsubscribed, some paused, some on a second, pending list."""
    from sqlalchemy import text

    start = time.perf_counter()
    session.execute(
        text("UPDATE subscriptions SET status = 'unsubscribed', unsubscribed_at = now() WHERE subscriber_id % 20 = 0")
    )
    session.execute(
        text("UPDATE subscribers SET paused_until = :until WHERE id % 50 = 1"), {"until": utcnow() + timedelta(weeks=4)}
    )
    session.execute(
        text(
            "INSERT INTO subscriptions (subscriber_id, list_id, status, subscribed_at, source, "
            "consent_text_version) SELECT id, (SELECT id FROM lists WHERE slug = 'science'), "
            "'unconfirmed', now(), 'form', '' FROM subscribers WHERE id % 10 = 3"
        )
    )
    session.commit()
    session.execute(text("ANALYZE"))
    session.commit()
    print(
        f"mix: 5% unsubscribed, 2% paused, 10% pending on a second list ({time.perf_counter() - start:.1f} s)",
        flush=True,
    )


if __name__ == "__main__":
    main()
