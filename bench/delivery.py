"""Delivery benchmark, run by hand (not in CI): N confirmed readers, a 10-story edition, Celery workers, smtp-sink.

    .venv/bin/python bench/delivery.py --n 100000            # our engine, end to end
    .venv/bin/python bench/delivery.py --n 100000 --limit    # smtp-source: what the sink takes at best
    .venv/bin/python bench/delivery.py --n 100000 --dkim     # every message DKIM-signed (a fresh RSA 2048 key)
    .venv/bin/python bench/delivery.py --n 20000 --dkim --compare   # smtp-source, then ours: the ratio

PostgreSQL and Redis come from BENCH_POSTGRES_ADMIN_URL and BENCH_REDIS_URL; any SEND_* or SMTP_*
setting in the environment (SMTP_URL aside) reaches the workers. The last line is
`messages=N seconds=S rate=R/s worker_peak_rss_mb=M duplicates=D missing=K`, counted by the sink.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import redis  # noqa: E402

from bench.postfix import Sink, Tools, smtp_source, tools  # noqa: E402
from bench.processes import Machine, Workers, cpu_seconds, postgres_backends, start_profiler, summarise_profile  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
CACHE = ROOT / "bench" / ".cache"


def fresh_database(name: str) -> str:
    """An empty, migrated PostgreSQL database; returns its SQLAlchemy URL."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    from service.ops import migrate

    migrate.upgrade(url)
    return url


def service_env(args, database_url: str, smtp_url: str, data_dir: str) -> dict[str, str]:
    """What the benchmark process and the workers are configured with (the caller's SEND_* pass through)."""
    env = {
        "ENVIRONMENT": "bench",
        "DATABASE_URL": database_url,
        "BROKER_URL": REDIS_URL,
        "TASK_QUEUE": f"bench-{os.getpid()}",
        "SMTP_URL": smtp_url,
        "DATA_DIR": data_dir,
        "SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "BASE_URL": "https://news.example.org",
        "MAIL_FROM": "World News daily <news@news.example.org>",
        "RATE_LIMIT_STORAGE_URL": "memory://",
        "POSTAL_ADDRESS": "World News Ltd, 1 Example Street, London",
    }
    if args.dkim:
        env.update(
            {
                "DKIM_PRIVATE_KEY": str(Path(data_dir) / "dkim.pem"),
                "DKIM_SELECTOR": "bench",
                "DKIM_DOMAIN": "news.example.org",
            }
        )
    if args.synchronous_commit:
        env["SEND_SYNCHRONOUS_COMMIT"] = "true" if args.synchronous_commit == "on" else "false"
    return env


def write_dkim_key(folder: Path) -> None:
    """A fresh RSA 2048 key where --dkim's settings point (DATA_DIR/dkim.pem)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (folder / "dkim.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def add_readers(database_url: str, list_id: int, count: int) -> None:
    """`count` confirmed readers, loaded with COPY (an imported audience, not the code under test)."""
    now = datetime.now(UTC)
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        with conn.cursor().copy("COPY subscribers (email, name, timezone, created_at) FROM STDIN") as copy:
            for number in range(count):
                copy.write_row((f"reader{number}@example.org", f"Reader {number}", "UTC", now))
        conn.execute(
            "INSERT INTO subscriptions (subscriber_id, list_id, status, subscribed_at, confirmed_at, source,"
            " consent_text_version) SELECT id, %s, 'confirmed', %s, %s, 'import', 'bench' FROM subscribers",
            (list_id, now, now),
        )
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("ANALYZE")


def build(settings, database_url: str, readers: int):
    """The list, its readers, 10 seed-size stories and the frozen edition: (list id, edition id, day, sizes)."""
    from service.core.db import session_scope
    from service.delivery.message import EditionMail, Recipient
    from service.editions import build_edition
    from service.lists.rules import DEMO_LIST, create_list
    from service.models import utcnow
    from tests.support.edition_stories import day_of_stories

    day = utcnow().date()
    with session_scope(database_url) as session:
        mailing_list = create_list(session, **DEMO_LIST)
        add_readers(database_url, mailing_list.id, readers)
        day_of_stories(session, 10, hostile=False)
        edition = build_edition(session, settings=settings, mailing_list=mailing_list, day=day)
        size = len(EditionMail(settings, edition, mailing_list).render(Recipient(1, "reader1@example.org", "Reader 1")))
        return mailing_list.id, edition.id, day, len(edition.html.encode()), size


def wait_until_sent(database_url: str, edition_id: int, expected: int) -> dict:
    """Poll the ledger until no row is pending or sending; then the counts and the last sent_at."""
    open_rows = "SELECT 1 FROM deliveries WHERE edition_id = %s AND status IN ('pending', 'sending') LIMIT 1"
    last_progress, last_sent, reported = time.monotonic(), -1, time.monotonic()
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        while conn.execute(open_rows, (edition_id,)).fetchone():
            time.sleep(0.25)
            if time.monotonic() - reported > 10:
                sent = conn.execute(
                    "SELECT count(*) FROM deliveries WHERE edition_id = %s AND status = 'sent'", (edition_id,)
                ).fetchone()[0]
                print(f"  ... {sent}/{expected} sent", flush=True)
                if sent != last_sent:
                    last_sent, last_progress = sent, time.monotonic()
                elif time.monotonic() - last_progress > 120:
                    raise RuntimeError("no progress for two minutes; see the worker logs")
                reported = time.monotonic()
        counts = dict(
            conn.execute(
                "SELECT status, count(*) FROM deliveries WHERE edition_id = %s GROUP BY status", (edition_id,)
            ).fetchall()
        )
        last = conn.execute("SELECT max(sent_at) FROM deliveries WHERE edition_id = %s", (edition_id,)).fetchone()[0]
    return {"counts": counts, "last_sent_at": last}


def run(args, postfix: Tools, folder: Path) -> str:
    """One full send; returns the last line."""
    sink = Sink(postfix, folder)
    database_url = fresh_database(args.database)
    os.environ.update(service_env(args, database_url, sink.url, str(folder)))
    from service.core.config import get_settings
    from service.core.db import engine_for, session_scope
    from service.delivery.schedule import send_now
    from service.models import MailingList, utcnow
    from service.tasks import start_drains

    get_settings.cache_clear()
    settings = get_settings()
    workers = profiler = None
    try:
        started = time.perf_counter()
        list_id, edition_id, day, html_size, message_size = build(settings, database_url, args.n)
        print(
            f"setup: {args.n} readers, edition html {html_size} bytes, message {message_size} bytes "
            f"({time.perf_counter() - started:.1f} s); synchronous_commit={settings.send_synchronous_commit}; "
            f"dkim={'rsa-sha256' if args.dkim else 'off'}"
        )
        engine_for(database_url).dispose()
        workers = Workers(
            service_env(args, database_url, sink.url, str(folder)), args.workers, args.concurrency, args.pool, folder
        )
        if args.profile:
            profiler = start_profiler(workers.processes[0].pid, CACHE / f"profile-{args.n}.txt", args.profile == "wall")
            time.sleep(1)
        machine, sink_cpu = Machine(), cpu_seconds(sink.process.pid)
        with session_scope(database_url) as session:
            mailing_list = session.get(MailingList, list_id)
            trigger, began = utcnow(), time.perf_counter()
            edition, planned = send_now(settings, session, mailing_list, day, trigger)
            planning = time.perf_counter() - began
        start_drains(edition.id, args.workers * args.concurrency)
        print(f"planning: {planned} deliveries in {planning:.2f} s", flush=True)
        backends = {pid: cpu_seconds(pid) for pid in postgres_backends(args.database)}
        ledger = wait_until_sent(database_url, edition_id, planned)
        busy, sink_cpu = machine.busy(), cpu_seconds(sink.process.pid) - sink_cpu
        workers.read()
        postgres_cpu = sum(cpu_seconds(pid) - backends.get(pid, 0.0) for pid in postgres_backends(args.database))
        seconds = (ledger["last_sent_at"] - trigger).total_seconds()
        print(
            f"ledger: {ledger['counts']}; send phase after planning {seconds - planning:.1f} s "
            f"({ledger['counts'].get('sent', 0) / max(1e-9, seconds - planning):.0f}/s)"
        )
        print(
            f"cpu: machine {100 * busy:.0f}% busy (both cores, everyone); seconds used: workers "
            f"{sum(workers.cpu.values()):.1f}, postgres backends {postgres_cpu:.1f}, smtp-sink {sink_cpu:.1f}; "
            f"us/message: workers {1e6 * sum(workers.cpu.values()) / planned:.0f}, postgres "
            f"{1e6 * postgres_cpu / planned:.0f}, smtp-sink {1e6 * sink_cpu / planned:.0f}"
        )
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        peak = workers.stop() if workers else 0.0
        if workers:
            print(f"worker peaks (MB): {', '.join(f'{pid}={mb:.1f}' for pid, mb in sorted(workers.peaks.items()))}")
        time.sleep(0.5)
        sink.stop()
        broker = redis.Redis.from_url(REDIS_URL)  # the queue and kombu's bindings for it
        for key in broker.scan_iter(f"*{os.environ['TASK_QUEUE']}*"):
            broker.delete(key)
        engine_for(database_url).dispose()
        if not args.keep:
            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    if profiler is not None and (CACHE / f"profile-{args.n}.txt").exists():
        summarise_profile(CACHE / f"profile-{args.n}.txt")
    received, messages = sink.recipients(), sink.messages()
    expected = {f"reader{number}@example.org" for number in range(args.n)}
    duplicates = sum(count - 1 for count in received.values() if count > 1)
    missing = len(expected - set(received))
    print(f"sink: {messages} messages, {sum(received.values())} RCPT commands, {len(received)} distinct recipients")
    return (
        f"messages={messages} seconds={seconds:.2f} rate={messages / seconds:.0f}/s "
        f"worker_peak_rss_mb={peak:.1f} duplicates={duplicates} missing={missing}"
    )


def limit(args, postfix: Tools, folder: Path) -> str:
    """smtp-source against the same sink, with our message size and connection count."""
    sink = Sink(postfix, folder)
    database_url = fresh_database(args.database)
    os.environ.update(service_env(args, database_url, sink.url, str(folder)))
    from service.core.config import get_settings
    from service.core.db import engine_for

    get_settings.cache_clear()
    try:
        *_, message_size = build(get_settings(), database_url, 0)
        engine_for(database_url).dispose()
        sessions = args.workers * args.concurrency
        machine, sink_cpu, own = Machine(), cpu_seconds(sink.process.pid), resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds = smtp_source(postfix, sink.port, messages=args.n, sessions=sessions, size=message_size)
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(
            f"cpu: machine {100 * machine.busy():.0f}% busy; us/message: smtp-source "
            f"{1e6 * (used.ru_utime + used.ru_stime - own.ru_utime - own.ru_stime) / args.n:.0f}, smtp-sink "
            f"{1e6 * (cpu_seconds(sink.process.pid) - sink_cpu) / args.n:.0f}",
            flush=True,
        )
    finally:
        time.sleep(0.5)
        sink.stop()
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    messages = sink.messages()
    return (
        f"smtp-source messages={messages} seconds={seconds:.2f} rate={messages / seconds:.0f}/s "
        f"sessions={sessions} size={message_size}"
    )


def main() -> None:
    """Parse the options, run the chosen mode, print its last line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="confirmed readers (messages)")
    parser.add_argument("--workers", type=int, default=2, help="celery worker processes")
    parser.add_argument("--concurrency", type=int, default=1, help="pool size per worker (one SMTP connection each)")
    parser.add_argument(
        "--pool",
        default="solo",
        choices=["solo", "prefork"],
        help="celery pool (solo: the worker process sends itself; prefork adds a parent process per worker)",
    )
    parser.add_argument("--synchronous-commit", choices=["on", "off"], help="SEND_SYNCHRONOUS_COMMIT for the workers")
    parser.add_argument("--database", default="newsletter_bench")
    parser.add_argument("--keep", action="store_true", help="leave the database for a look afterwards")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="cpu",
        choices=["cpu", "wall"],
        help="py-spy record the first worker (wall: waiting counts too)",
    )
    parser.add_argument("--limit", action="store_true", help="measure smtp-source instead of our engine")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="smtp-source first, then our engine, on the same sink settings, and the ratio of the two rates",
    )
    parser.add_argument(
        "--dkim",
        action="store_true",
        help="sign every message (a fresh RSA 2048 key in a temp "
        "file); with --limit, smtp-source sends messages of the signed size",
    )
    args = parser.parse_args()
    if args.pool == "solo" and args.concurrency != 1:
        parser.error("--pool solo runs one task per worker: use --concurrency 1 or --pool prefork")
    postfix = tools(CACHE)
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as folder:
        if args.dkim:
            write_dkim_key(Path(folder))
        if args.compare:
            reference = limit(args, postfix, Path(folder))
            print(reference, flush=True)
            ours = run(args, postfix, Path(folder))
            line = f"{ours} ratio={_rate(ours) / _rate(reference):.2f}"
        else:
            line = (limit if args.limit else run)(args, postfix, Path(folder))
    print(line, flush=True)


def _rate(line: str) -> float:
    """The rate= figure of a result line."""
    return float(line.split("rate=", 1)[1].split("/s", 1)[0])


if __name__ == "__main__":
    main()
