"""Retention benchmark, run by hand (not in CI): a day's ledger cleanup of 1,000,000 rows, alone and during a send.

    .venv/bin/python bench/retention.py                       # 1,000,000 rows to prune, a 20,000-reader send
    .venv/bin/python bench/retention.py --rows 200000 --n 5000

On PostgreSQL (BENCH_POSTGRES_ADMIN_URL), Redis (BENCH_REDIS_URL), Celery workers and Postfix's smtp-sink, as
bench/delivery.py. An old finished edition of --rows sent rows (1% failed, 0.1% with a bounce) is planted with
INSERT .. SELECT generate_series, then:
  1. send A: an edition to --n readers, nothing else running;
  2. `newsletter ledger prune` alone: the day's cleanup;
  3. another --rows old edition planted; send B started, and the prune once a tenth of B is sent: B's rate
     inside the prune's window is compared with B's rate outside it and with A's.
The last lines are the figures; the ratios compare runs of the same process on the same (shared) machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import redis  # noqa: E402

from bench.delivery import CACHE, REDIS_URL, fresh_database, service_env, wait_until_sent  # noqa: E402
from bench.postfix import Sink, tools  # noqa: E402
from bench.processes import Workers  # noqa: E402

PLANT = """
INSERT INTO editions (list_id, edition_date, story_ids, window_start, window_end, subject, preheader,
                      placeholder_key, html, text, created_at, send_status, send_started_at, send_expires_at,
                      completed_at)
SELECT list_id, edition_date - %(age)s, story_ids, window_start, window_end, subject, preheader, placeholder_key,
       html, text, created_at - %(delta)s, 'complete', %(started)s, %(started)s + interval '12 hours',
       %(started)s + interval '1 hour'
FROM editions WHERE id = %(model)s RETURNING id
"""
ROWS = """
INSERT INTO deliveries (edition_id, subscriber_id, status, not_before, due_at, attempts, lease_token, smtp_code,
                        smtp_reply, failure_kind, message_id, sent_at, last_error)
SELECT %(edition)s, NULL, CASE WHEN g %% 100 = 0 THEN 'failed' ELSE 'sent' END, %(started)s, NULL, 1,
       md5(g::text), CASE WHEN g %% 100 = 0 THEN 550 ELSE 250 END,
       CASE WHEN g %% 100 = 0 THEN '550 5.1.1 <reader' || g || '@example.org>: Recipient address rejected'
            ELSE '250 2.0.0 Ok: queued as ' || upper(substr(md5(g::text), 1, 10)) END,
       CASE WHEN g %% 100 = 0 THEN 'no_such_user' END,
       '<' || md5(g::text) || '.' || g || '@news.example.org>', %(started)s + g * interval '2 milliseconds', NULL
FROM generate_series(1, %(rows)s) AS g
"""
BOUNCES = """
INSERT INTO bounces (received_at, kind, status, diagnostic, recipient_hash, delivery_id, subscriber_id, edition_id,
                     matched_by, source, message_sha256)
SELECT %(started)s + interval '1 day', 'hard', '5.1.1', 'user unknown', md5(d.id::text) || md5(d.id::text), d.id,
       NULL, d.edition_id, 'verp', 'imap', md5('b' || d.id::text) || md5(d.id::text)
FROM deliveries d WHERE d.edition_id = %(edition)s AND d.id %% 1000 = 0
"""


def plain(url: str) -> str:
    """psycopg's URL from SQLAlchemy's."""
    return url.replace("+psycopg", "")


def load_average() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def wait_for_quiet(limit: float = 3.0, longest: float = 300.0) -> float:
    """Other helpers benchmark on this machine too: wait (a while at most) for the load to drop before timing."""
    deadline = time.monotonic() + longest
    while load_average() > limit and time.monotonic() < deadline:
        time.sleep(5)
    return load_average()


def setup(settings, database_url: str, readers: int) -> tuple[list[int], int]:
    """Lists a and b, both with `readers` readers and today's edition built: (list ids, a model edition's id)."""
    from service.core.db import session_scope
    from service.editions import build_edition
    from service.lists.rules import create_list
    from service.models import utcnow
    from tests.support.edition_stories import day_of_stories

    now = datetime.now(UTC)
    with session_scope(database_url) as session:
        lists = [create_list(session, slug=slug, name=f"List {slug}", categories=["World News"]) for slug in "ab"]
        day_of_stories(session, 10, hostile=False)
        editions = [build_edition(session, settings=settings, mailing_list=ml, day=utcnow().date()) for ml in lists]
        ids, model = [ml.id for ml in lists], editions[0].id
    with psycopg.connect(plain(database_url)) as conn:
        with conn.cursor().copy("COPY subscribers (email, name, timezone, created_at) FROM STDIN") as copy:
            for number in range(readers):
                copy.write_row((f"reader{number}@example.org", f"Reader {number}", "UTC", now))
        for list_id in ids:
            conn.execute(
                "INSERT INTO subscriptions (subscriber_id, list_id, status, subscribed_at, confirmed_at, "
                "source, consent_text_version) SELECT id, %s, 'confirmed', %s, %s, 'import', 'bench' "
                "FROM subscribers",
                (list_id, now, now),
            )
    return ids, model


def plant(database_url: str, model: int, rows: int, age_days: int) -> tuple[int, float]:
    """An old finished edition with `rows` sent and failed rows and a bounce per thousand: (its id, seconds)."""
    began = time.perf_counter()
    started = datetime.now(UTC) - timedelta(days=age_days)
    with psycopg.connect(plain(database_url)) as conn:
        edition = conn.execute(
            PLANT, {"age": age_days, "delta": timedelta(days=age_days), "started": started, "model": model}
        ).fetchone()[0]
        conn.execute(ROWS, {"edition": edition, "started": started, "rows": rows})
        conn.execute(BOUNCES, {"edition": edition, "started": started})
    with psycopg.connect(plain(database_url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # as a day-old table would be after autovacuum
    return edition, time.perf_counter() - began


def start_send(settings, database_url: str, list_id: int) -> tuple[int, int, datetime]:
    """Start today's edition of a list (the workers are running): (edition id, planned, trigger time)."""
    from service.core.db import session_scope
    from service.delivery.schedule import send_now
    from service.models import MailingList, utcnow
    from service.tasks import start_drains

    with session_scope(database_url) as session:
        mailing_list = session.get(MailingList, list_id)
        trigger = utcnow()
        edition, planned = send_now(settings, session, mailing_list, trigger.date(), trigger)
    start_drains(edition.id, settings.send_parallelism)
    return edition.id, planned, trigger


def send(settings, database_url: str, list_id: int, readers: int) -> float:
    """Send today's edition of a list and wait for it; returns its rate per second."""
    edition, planned, trigger = start_send(settings, database_url, list_id)
    ledger = wait_until_sent(database_url, edition, planned)
    assert ledger["counts"].get("sent", 0) == readers, ledger
    return readers / (ledger["last_sent_at"] - trigger).total_seconds()


def sent_between(database_url: str, edition: int, start: datetime, end: datetime) -> int:
    """Messages of an edition recorded as sent within a time window."""
    with psycopg.connect(plain(database_url)) as conn:
        return conn.execute(
            "SELECT count(*) FROM deliveries WHERE edition_id = %s AND status = 'sent' "
            "AND sent_at >= %s AND sent_at < %s",
            (edition, start, end),
        ).fetchone()[0]


def sent_so_far(database_url: str, edition: int) -> int:
    """Messages of an edition sent until now."""
    with psycopg.connect(plain(database_url)) as conn:
        return conn.execute(
            "SELECT count(*) FROM deliveries WHERE edition_id = %s AND status = 'sent'", (edition,)
        ).fetchone()[0]


def prune_command() -> subprocess.Popen:
    """`newsletter ledger prune` in its own process, as an operator (or beat's task) runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", "ledger", "prune"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def prune_seconds(process: subprocess.Popen) -> tuple[float, str]:
    """Wait for a prune; (its own timing, its last line)."""
    output, _ = process.communicate(timeout=3600)
    last = output.strip().splitlines()[-1]
    if process.returncode != 0 or " in " not in last:
        raise RuntimeError(f"prune failed:\n{output}")
    return float(last.split(" in ", 1)[1].split(" s", 1)[0]), last


def main() -> None:
    """Plant, send, prune, plant, prune while sending; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="delivery rows of the old edition to prune")
    parser.add_argument("--n", type=int, default=20_000, help="readers of each concurrent send")
    parser.add_argument("--workers", type=int, default=2, help="celery worker processes (one connection each)")
    parser.add_argument("--database", default="newsletter_bench_retention")
    args = parser.parse_args()
    args.dkim, args.synchronous_commit = False, None  # what bench.delivery's service_env reads
    with tempfile.TemporaryDirectory(prefix="bench-retention-") as folder:
        sink = Sink(tools(CACHE), Path(folder))
        database_url = fresh_database(args.database)
        env = {**service_env(args, database_url, sink.url, folder), "SEND_PARALLELISM": str(args.workers)}
        os.environ.update(env)
        from service.core.config import get_settings
        from service.core.db import engine_for

        get_settings.cache_clear()
        settings = get_settings()
        workers = None
        try:
            (list_a, list_b), model = setup(settings, database_url, args.n)
            old, seconds = plant(database_url, model, args.rows, 100)
            print(f"planted: edition {old} with {args.rows} rows in {seconds:.1f} s", flush=True)
            engine_for(database_url).dispose()
            workers = Workers(env, args.workers, 1, "solo", Path(folder))
            print(f"load {wait_for_quiet():.2f}; send A alone ...", flush=True)
            rate_alone = send(settings, database_url, list_a, args.n)
            print(f"send A: {rate_alone:.0f}/s", flush=True)
            print(f"load {wait_for_quiet():.2f}; prune alone ...", flush=True)
            alone, line = prune_seconds(prune_command())
            print(f"prune alone: {line}", flush=True)
            second, seconds = plant(database_url, model, args.rows, 101)
            print(f"planted: edition {second} with {args.rows} rows in {seconds:.1f} s", flush=True)
            print(f"load {wait_for_quiet():.2f}; send B, and the prune once a tenth of it is sent ...", flush=True)
            edition_b, planned, trigger = start_send(settings, database_url, list_b)
            while sent_so_far(database_url, edition_b) < args.n // 10:
                time.sleep(0.05)
            prune_began = datetime.now(UTC)
            during, line = prune_seconds(prune_command())
            prune_ended = datetime.now(UTC)
            print(f"prune during send B: {line}", flush=True)
            ledger = wait_until_sent(database_url, edition_b, planned)
            assert ledger["counts"].get("sent", 0) == args.n, ledger
            window = (prune_ended - prune_began).total_seconds()
            inside = sent_between(database_url, edition_b, prune_began, prune_ended)
            outside_seconds = (ledger["last_sent_at"] - trigger).total_seconds() - window
            rate_during, rate_outside = inside / window, (args.n - inside) / outside_seconds
            overlapped = ledger["last_sent_at"] > prune_ended  # the prune ended before the send did
        finally:
            if workers:
                workers.stop()
            time.sleep(0.5)
            sink.stop()
            broker = redis.Redis.from_url(REDIS_URL)
            for key in broker.scan_iter(f"*{os.environ['TASK_QUEUE']}*"):
                broker.delete(key)
            engine_for(database_url).dispose()
            with psycopg.connect(
                os.environ.get("BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test"), autocommit=True
            ) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    print(f"prune_alone rows={args.rows} seconds={alone:.1f} rate={args.rows / alone:.0f} rows/s")
    print(
        f"prune_during_send rows={args.rows} seconds={during:.1f} rate={args.rows / during:.0f} rows/s "
        f"slowdown={during / alone:.2f}"
    )
    print(f"send A readers={args.n} alone={rate_alone:.0f}/s")
    print(
        f"send B readers={args.n} while_pruning={rate_during:.0f}/s ({inside} messages in {window:.1f} s) "
        f"rest_of_send={rate_outside:.0f}/s prune_inside_send={overlapped}"
    )
    print(
        f"send rate while pruning / same send otherwise = {rate_during / rate_outside:.2f}; "
        f"/ send A = {rate_during / rate_alone:.2f}"
    )


if __name__ == "__main__":
    main()
