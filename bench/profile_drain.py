"""Profile one in-process drain (cProfile) of an edition to smtp-sink, and count SQL statements per message.

.venv/bin/python bench/profile_drain.py --n 3000 [--dkim]
.venv/bin/python bench/profile_drain.py --n 10000 [--dkim] --plain   # no profiler: CPU per message by process
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.delivery import ADMIN_URL, CACHE, build, fresh_database, service_env, write_dkim_key  # noqa: E402
from bench.postfix import Sink, tools  # noqa: E402
from bench.processes import cpu_seconds, postgres_backends  # noqa: E402


def main() -> None:
    """Build, plan, then drain under cProfile; print the top functions and statements per message."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--dkim", action="store_true")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--database", default="newsletter_profile")
    parser.add_argument(
        "--plain",
        action="store_true",
        help="no cProfile: CPU microseconds per message for this process, its PostgreSQL backends and smtp-sink",
    )
    args = parser.parse_args()
    args.synchronous_commit = None
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as folder:
        if args.dkim:
            write_dkim_key(Path(folder))
        sink = Sink(tools(CACHE), Path(folder))
        database_url = fresh_database(args.database)
        os.environ.update(service_env(args, database_url, sink.url, folder))
        from service.core.config import get_settings
        from service.core.db import session_scope
        from service.delivery import sender
        from service.delivery.schedule import send_now
        from service.models import MailingList, utcnow

        get_settings.cache_clear()
        settings = get_settings()
        try:
            list_id, edition_id, day, _, size = build(settings, database_url, args.n)
            with session_scope(database_url) as session:
                send_now(settings, session, session.get(MailingList, list_id), day, utcnow())
            sender.edition_mail(settings, edition_id)  # per-edition setup outside the measured part
            statements = [0]
            real = psycopg.Cursor.execute

            def counted(self, *a, **k):
                statements[0] += 1
                return real(self, *a, **k)

            psycopg.Cursor.execute = counted  # type: ignore[method-assign]
            profile = cProfile.Profile(time.process_time)  # CPU, not waiting: the waits show in --plain's wall
            backends = {pid: cpu_seconds(pid) for pid in postgres_backends(args.database)}
            sink_cpu = cpu_seconds(sink.process.pid)
            began, cpu, times = time.perf_counter(), time.process_time(), os.times()
            if not args.plain:
                profile.enable()
            result = sender.drain(settings, edition_id)
            profile.disable()
            wall, cpu = time.perf_counter() - began, time.process_time() - cpu
            user, system = os.times().user - times.user, os.times().system - times.system
            pg_cpu = sum(cpu_seconds(pid) - backends.get(pid, 0.0) for pid in postgres_backends(args.database))
            sink_cpu = cpu_seconds(sink.process.pid) - sink_cpu
            psycopg.Cursor.execute = real  # type: ignore[method-assign]
            sent = result.counts.get("sent", 0)
            with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
                upd, hot = conn.execute(
                    "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'deliveries'"
                ).fetchone()
            print(
                f"message {size} bytes; drained {dict(result.counts)} in {wall:.2f} s wall, {cpu:.2f} s CPU: "
                f"{1e6 * cpu / max(1, sent):.0f} us CPU/message, {sent / wall:.0f}/s; "
                f"{statements[0] / max(1, sent):.2f} statements/message; deliveries updates {upd} (HOT {hot})"
            )
            print(
                f"CPU us/message: worker {1e6 * cpu / max(1, sent):.0f} (user {1e6 * user / max(1, sent):.0f}, "
                f"system {1e6 * system / max(1, sent):.0f}), postgres {1e6 * pg_cpu / max(1, sent):.0f}, "
                f"smtp-sink {1e6 * sink_cpu / max(1, sent):.0f}"
            )
            if args.plain:
                return
            stats = pstats.Stats(profile)
            total = stats.total_tt  # type: ignore[attr-defined]
            print(f"profiled total {total:.2f} s")
            stats.sort_stats("tottime").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats(args.top)
        finally:
            sink.stop()
            from service.core.db import engine_for

            engine_for(database_url).dispose()
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
