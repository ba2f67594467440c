"""What a /metrics scrape and the ops status cost as the ledger fills up, run by hand (not in CI).

    .venv/bin/python bench/metrics_scale.py                      # 10 finished editions of 1,000,000 rows
    .venv/bin/python bench/metrics_scale.py --editions 3 --rows 200000

A million readers a day under the default 90-day retention keeps ~90 million delivery rows. Prometheus
scrapes every 15 s or so, and the admin dashboard asks for the same status, so neither may read every row.
On PostgreSQL (BENCH_POSTGRES_ADMIN_URL): finished editions of --rows rows each (1% failed, each failed row
with a reader) are planted as bench/retention.py does, within the retention window. Then, best of --repeat:
the reply counter (next to what reading every row, as before, costs), the latest failures, the status
snapshot behind /metrics, a scrape (the collector), and a whole GET /metrics through the web app's handler.
Before the timings, beat's scheduled SMTP and worker checks run once (as every sweep interval), so a scrape reads
their last answers instead of asking; the checks' own cost is shown beside. The sweeper's pass, counted too.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.delivery import ADMIN_URL, fresh_database, service_env  # noqa: E402
from bench.retention import plant, setup  # noqa: E402

FAILED_READERS = """
UPDATE deliveries d SET subscriber_id = (SELECT min(id) FROM subscribers) + f.rank - 1
FROM (SELECT id, row_number() OVER (PARTITION BY edition_id ORDER BY id) AS rank FROM deliveries
      WHERE status = 'failed') f
WHERE d.id = f.id
"""  # planted rows have no reader; the failed ones get one (the failures list shows their address)


def best_of(repeat: int, action) -> float:
    """The fastest of `repeat` timed calls, in seconds (the machine is shared: the best is the least disturbed)."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return min(times)


def main() -> None:
    """Plant, sweep, time the snapshot; print one line per figure."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--editions", type=int, default=10, help="finished editions in the ledger")
    parser.add_argument("--rows", type=int, default=1_000_000, help="delivery rows of each")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", default="newsletter_bench_metrics")
    args = parser.parse_args()
    args.dkim, args.synchronous_commit = False, None  # what bench.delivery's service_env reads
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as folder:
        database_url = fresh_database(args.database)
        os.environ.update(service_env(args, database_url, "smtp://127.0.0.1:1", folder))
        from service.core.config import get_settings
        from service.core.db import engine_for, session_scope
        from service.delivery.control import sweep
        from service.delivery.reply_counts import count_rows
        from service.models import Edition, utcnow
        from service.ops.monitoring.failures import recent_failures
        from service.ops.monitoring.figures import smtp_reply_classes
        from service.ops.monitoring.metrics import render
        from service.ops.monitoring.status import snapshot

        get_settings.cache_clear()
        settings = get_settings()
        try:
            _, model = setup(settings, database_url, args.rows // 100)
            for day in range(args.editions):
                edition, seconds = plant(database_url, model, args.rows, day + 1)
                print(f"planted: edition {edition} with {args.rows} rows in {seconds:.1f} s", flush=True)
            with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
                conn.execute(FAILED_READERS)
            engine = engine_for(database_url)
            first_sweep = best_of(1, lambda: sweep(engine, now=utcnow()))
            next_sweep = best_of(args.repeat, lambda: sweep(engine, now=utcnow()))
            with session_scope(database_url) as session:
                every = list(session.scalars(select(Edition.id)))
                reading_rows = best_of(args.repeat, lambda: count_rows(session.connection(), every))
                counter = best_of(args.repeat, lambda: smtp_reply_classes(session))
                failures = best_of(args.repeat, lambda: recent_failures(session, limit=10))
            checks = _run_checks(settings)
            status = best_of(args.repeat, lambda: snapshot(settings))
            scrape = best_of(args.repeat, lambda: render(settings))
            handler = _time_handler(settings, args.repeat)
            replies = snapshot(settings).smtp_replies
        finally:
            engine_for(database_url).dispose()
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    rows = args.editions * args.rows
    print(f"ledger rows={rows} editions={args.editions} replies={replies}")
    print(f"sweep first={first_sweep:.3f} s (counts every finished edition once) then={next_sweep:.3f} s")
    print(f"reply_counter seconds={counter:.3f} (every row read, as before the stored counts: {reading_rows:.3f})")
    print(f"recent_failures seconds={failures:.3f} (the dashboard's and status page's latest 10)")
    print(
        f"status_snapshot seconds={status:.3f}  metrics_scrape seconds={scrape:.3f}  "
        f"GET_/metrics seconds={handler:.3f} (scheduled checks: {checks})"
    )


def _run_checks(settings) -> str:
    """Beat's scheduled SMTP and worker checks, once, timed (they wait ~1 s for workers to answer; none run here)."""
    try:
        from service.ops.monitoring.checks import run_checks
    except ImportError:  # a tree from before the scheduled checks: each scrape asks SMTP and the workers itself
        return "none, each scrape asks SMTP and pings the workers"
    from service.core.db import engine_for
    from service.models import utcnow

    began = time.perf_counter()
    run_checks(settings, engine_for(settings.effective_database_url), utcnow())
    return f"run once in {time.perf_counter() - began:.3f} s, read by each scrape"


def _time_handler(settings, repeat: int) -> float:
    """The whole GET /metrics through the app's route, in process (no network, no server)."""
    from fastapi.testclient import TestClient

    from service.web.app import create_app

    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 200
        return best_of(repeat, lambda: client.get("/metrics"))


if __name__ == "__main__":
    main()
