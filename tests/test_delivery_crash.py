"""Crash safety with real processes: SIGKILLed workers, a restarted Redis and two beats still reach every reader.

Each test runs the production path end to end: a real beat dispatches the due edition, real
Celery workers (prefork) drain it over real SMTP to a server that records every recipient, and
a disruption hits in the middle. After recovery (beat's sweeper takes back the leases of the
dead, re-triggers the edition), every confirmed reader must have the edition, and the only
duplicates allowed are the messages that were in flight on a connection when a process was
killed: at most one per SMTP connection, i.e. per pool process killed.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.core.db import engine_for
from service.lists.rules import create_list
from service.models import Delivery, DeliveryStatus, Edition, utcnow
from tests.support.edition_stories import day_of_stories
from tests.support.processes import Beat, RedisServer, Worker, start_together
from tests.support.readers import add_readers, wait_until_complete
from tests.support.smtp import CountingSmtpServer

pytestmark = pytest.mark.crash

# 1000 readers are 20 batches of 50 over 2 pool processes: the kill at a quarter still finds rows claimed and most of
# the edition left (each test asserts so); 2000 only doubled the time spent sending (~90 messages a second here)
READERS = 1000
CONCURRENCY = 2  # pool processes per worker, each with one SMTP connection at a time


@pytest.fixture(scope="module")
def counting_smtp():
    """A real SMTP server that records (recipient, Message-ID) of everything it accepts."""
    server = CountingSmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server this test may kill and restart."""
    server = RedisServer(tmp_path / "redis.log").start()
    yield server
    server.kill()


@pytest.fixture
def crash_env(service_env, settings, own_redis, counting_smtp, tmp_path) -> dict[str, str]:
    """Worker and beat settings: short leases and a brisk sweeper so recovery fits in a test."""
    counting_smtp.clear()
    return {
        **os.environ,
        **service_env,
        "BROKER_URL": own_redis.url,
        "TASK_QUEUE": f"crash-{os.getpid()}",
        "SMTP_URL": f"smtp://127.0.0.1:{counting_smtp.port}",
        "DATA_DIR": str(tmp_path),
        "SEND_LEASE_SECONDS": "5",
        "SWEEP_INTERVAL_SECONDS": "2",
        "DISPATCH_INTERVAL_SECONDS": "2",
        "SEND_RATE_PER_SECOND": "300",
        "SEND_BATCH_SIZE": "50",
        "SEND_PARALLELISM": "2",
        "DRAIN_MAX_SECONDS": "30",
    }


def _due_edition(db, settings) -> list[str]:
    """A list whose send time has just come, its readers and the day's stories: beat will dispatch it."""
    due = utcnow() - timedelta(minutes=1)
    crash = create_list(
        db,
        slug="crash",
        name="Crash test daily",
        send_time=due.time().replace(microsecond=0),
        timezone="UTC",
        categories=["World News"],
    )
    readers = add_readers(engine_for(settings.effective_database_url), crash.id, READERS)
    day_of_stories(db)
    return readers


def _wait_for_mail(smtp: CountingSmtpServer, at_least: int, timeout: float = 90.0) -> None:
    """Until the edition is well under way."""
    deadline = time.monotonic() + timeout
    while smtp.count() < at_least:
        assert time.monotonic() < deadline, f"only {smtp.count()} messages after {timeout} s"
        time.sleep(0.05)


def _while_rows_are_claimed(db, at_least: int = 10, timeout: float = 30.0) -> None:
    """Until a worker holds claimed rows, the moment to kill it: between two batches it holds none, and recovery would
    have nothing to take back (at least 10 rows: several messages of work, more than the time the kill takes)."""
    deadline = time.monotonic() + timeout
    while True:
        db.rollback()  # a fresh look each time (SQLite keeps one snapshot per read transaction)
        if db.scalar(select(func.count()).where(Delivery.status == DeliveryStatus.sending)) >= at_least:
            return
        assert time.monotonic() < deadline, f"fewer than {at_least} rows claimed for {timeout} s mid-edition"
        time.sleep(0.002)


def _mid_edition(smtp: CountingSmtpServer) -> None:
    """The fault hit while most of the edition was still to send (else recovery would have nothing to do)."""
    assert smtp.count() < READERS * 3 // 4, f"{smtp.count()} of {READERS} sent before the fault: too late to test"


def _assert_everyone_once(db, settings, smtp, readers, allowed_duplicates: int) -> None:
    """Every reader got the edition; duplicates only within the allowance, and recognisable by Message-ID."""
    deadline = time.monotonic() + 30
    while (edition_id := db.scalar(select(Edition.id))) is None:
        assert time.monotonic() < deadline, "beat never dispatched the due edition"
        time.sleep(0.2)
    wait_until_complete(engine_for(settings.effective_database_url), edition_id, timeout=180)
    smtp.caught_up()  # a message whose final dot has arrived is recorded before the count
    received = Counter(rcpt for rcpt, _ in smtp.deliveries)
    missing = set(readers) - set(received)
    duplicates = sum(count - 1 for count in received.values())
    assert not missing, f"{len(missing)} readers never got the edition"
    assert duplicates <= allowed_duplicates, f"{duplicates} duplicates (allowed {allowed_duplicates})"
    ids = {}
    for rcpt, message_id in smtp.deliveries:
        assert ids.setdefault(rcpt, message_id) == message_id, "a duplicate carries the same Message-ID"
    statuses = dict(db.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
    assert statuses == {DeliveryStatus.sent: len(readers)}


@contextmanager
def _running(crash_env, tmp_path, name: str):
    """A worker and a beat for the test; the test may replace either (they are stopped at the end)."""
    running = {
        "worker": Worker(crash_env, tmp_path / "worker.log", name, CONCURRENCY),
        "beat": Beat(crash_env, tmp_path / "beat.log", tmp_path),
    }
    start_together(*running.values())
    try:
        yield running
    finally:
        for process in running.values():
            process.stop()


def test_sigkill_of_the_whole_worker_mid_edition(db, settings, crash_env, counting_smtp, tmp_path):
    """Proves: rows claimed by a worker killed outright are taken back after their lease and sent by its successor."""
    readers = _due_edition(db, settings)
    with _running(crash_env, tmp_path, "crash-a") as running:
        _wait_for_mail(counting_smtp, READERS // 4)
        _while_rows_are_claimed(db)
        running["worker"].kill()
        _mid_edition(counting_smtp)
        sent_before_restart = counting_smtp.count()
        claimed = db.scalar(select(func.count()).where(Delivery.status == DeliveryStatus.sending))
        assert claimed > 0, "the kill left rows claimed by the dead worker: recovery has real work to do"
        time.sleep(1)
        assert counting_smtp.count() <= sent_before_restart + CONCURRENCY, "a dead worker sends nothing more"
        running["worker"] = Worker(crash_env, tmp_path / "worker.log", "crash-b", CONCURRENCY).start()
        _assert_everyone_once(db, settings, counting_smtp, readers, allowed_duplicates=CONCURRENCY)


def test_a_restarted_worker_recovers_without_beat(db, settings, crash_env, counting_smtp, tmp_path):
    """Proves: with beat gone too, a worker that starts takes back the killed worker's leases and finishes."""
    readers = _due_edition(db, settings)
    with _running(crash_env, tmp_path, "crash-f") as running:
        _wait_for_mail(counting_smtp, READERS // 4)
        running["beat"].kill()
        _while_rows_are_claimed(db)
        running["worker"].kill()
        _mid_edition(counting_smtp)
        claimed = db.scalar(select(func.count()).where(Delivery.status == DeliveryStatus.sending))
        assert claimed > 0, "the kill left rows claimed by the dead worker: recovery has real work to do"
        started = time.monotonic()
        running["worker"] = Worker(crash_env, tmp_path / "worker.log", "crash-g", CONCURRENCY).start()
        _assert_everyone_once(db, settings, counting_smtp, readers, allowed_duplicates=CONCURRENCY)
        assert time.monotonic() - started < 60, "recovered within a lease and a batch or two, not minutes later"


def test_sigkill_of_one_pool_process_mid_edition(db, settings, crash_env, counting_smtp, tmp_path):
    """Proves: a pool child killed mid-batch loses nothing (the task is re-queued, its rows come back)."""
    readers = _due_edition(db, settings)
    with _running(crash_env, tmp_path, "crash-c") as running:
        _wait_for_mail(counting_smtp, READERS // 4)
        os.kill(running["worker"].children()[0], signal.SIGKILL)
        _mid_edition(counting_smtp)
        _assert_everyone_once(db, settings, counting_smtp, readers, allowed_duplicates=1)
        assert running["worker"].alive(), "the worker replaced its pool process and carried on"


def test_redis_restart_mid_edition(db, settings, crash_env, counting_smtp, own_redis, tmp_path):
    """Proves: losing the broker and every queued task mid-edition (Redis keeps nothing on disk) loses no reader."""
    readers = _due_edition(db, settings)
    with _running(crash_env, tmp_path, "crash-d") as running:
        _wait_for_mail(counting_smtp, READERS // 4)
        own_redis.kill()
        _mid_edition(counting_smtp)
        time.sleep(3)
        own_redis.start()
        if not running["beat"].alive():  # redbeat exits when Redis goes; compose's restart policy brings it back
            running["beat"] = Beat(crash_env, tmp_path / "beat.log", tmp_path).start()
        _assert_everyone_once(db, settings, counting_smtp, readers, allowed_duplicates=0)


def test_two_beats_never_double_send(db, settings, crash_env, counting_smtp, tmp_path):
    """Proves: two beat processes at once (redbeat's lock, idempotent dispatch behind it) send each reader one email."""
    readers = _due_edition(db, settings)
    beats = [Beat(crash_env, tmp_path / f"beat{n}.log", tmp_path / f"b{n}") for n in (1, 2)]
    for n, beat in enumerate(beats, start=1):
        (tmp_path / f"b{n}").mkdir()
        beat.ready_marker = None
        beat.start()
    worker = Worker(crash_env, tmp_path / "worker.log", "crash-e", CONCURRENCY).start()
    try:
        _assert_everyone_once(db, settings, counting_smtp, readers, allowed_duplicates=0)
        assert db.scalar(select(func.count()).select_from(Edition)) == 1
    finally:
        worker.stop()
        for beat in beats:
            beat.stop()
