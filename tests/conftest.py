"""Shared fixtures: real SQLite and PostgreSQL, real Redis, a real Celery worker and a real SMTP server."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from service.core.config import REPO_ROOT, Settings, get_settings
from service.core.db import engine_for, session_factory
from service.ops import migrate
from service.ops.schema import Base
from tests.support.processes import Worker
from tests.support.smtp import RecordingSmtpServer

POSTGRES_ADMIN = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
# rate-limit counters, shared by web and worker
LIMITS_URL = os.environ.get("TEST_LIMITS_URL", "redis://127.0.0.1:6379/14")
RUN_ID = f"{os.getpid()}"

# Where the SQL or the locking differs between SQLite (make run's embedded default) and PostgreSQL (production), a
# storage test runs on both; elsewhere on PostgreSQL alone. A test elsewhere opts in with @pytest.mark.sqlite_twin.
SQLITE_TWIN_MODULES = frozenset(
    {
        "test_ledger_claims",
        "test_ledger_migration",
        "test_delivery",
        "test_delivery_crash",
        "test_schedule",
        "test_retention",
        "test_bulk_import",
        "test_editions",
        "test_edition_actions",
        "test_monitoring",
        "test_admin_dashboard",
        "test_refusal_pause",
        "test_bounce_proof",
        "test_multi_source_polling",
        "test_multi_source_editions",
        "test_story_drift",
        "test_feeds",
        "test_story_seed_format",
        "test_story_seed_errors",
        "test_story_json",
        "test_story_storage",
        "test_bounce_fixtures",
        "test_bounce_parsing",
        "test_bounce_policy",
        "test_bounce_outcomes",
        "test_bounce_inputs",
        "test_admin_subscriber_pages",
        "test_admin_subscriber_csv",
        "test_admin_suppressions",
        "test_subscriber_admin",
        "test_cli_subscribers",
        "test_brokers",
        "test_dev_run",
        "test_startup",
        "test_drafts",
        "test_draft_editing",
        "test_draft_browser",
    }
)


# The slow tiers, each a pytest marker that `pytest -m NAME` runs alone (declared in pyproject.toml).
SLOW_TIERS = ("browser", "crash", "multihost", "dev_run", "processes", "heavy")


def pytest_addoption(parser):
    parser.addoption(
        "--fast",
        action="store_true",
        help="the inner loop (make test-fast): pure logic, the in-process web app and SQLite; no browser, "
        "no worker or other process, no crash tier, no heavy computation, no PostgreSQL",
    )


def pytest_collection_modifyitems(config, items):
    """Keep a test's SQLite run only where SQLite behaves differently (see SQLITE_TWIN_MODULES); --fast keeps the
    tests that need no process but this one, on SQLite."""
    fast = config.getoption("--fast")
    kept, dropped = [], []
    for item in items:
        database = item.callspec.params.get("database_url") if hasattr(item, "callspec") else None
        if fast:
            slow = any(item.get_closest_marker(tier) for tier in SLOW_TIERS) or "celery_worker" in item.fixturenames
            drop = slow or database == "postgresql"
        else:
            module = item.module.__name__.rsplit(".", 1)[-1]
            twin = module in SQLITE_TWIN_MODULES or item.get_closest_marker("sqlite_twin")
            drop = database == "sqlite" and not twin
        (dropped if drop else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_runtest_setup(item):
    """Chromium (tests/support/browser.py), if a test started it, serves the rest of its module, then stops."""
    if browser := sys.modules.get("tests.support.browser"):
        browser.release_unless(item.module.__name__)


def pytest_sessionfinish(session):
    """The last module's Chromium stops with the session."""
    if browser := sys.modules.get("tests.support.browser"):
        browser.close_shared_browser()


def _fresh_postgres_database(name: str) -> str:
    """Create an empty PostgreSQL database for this run (a missing server fails the run, never skips)."""
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0]
    return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)


def _drop_postgres_database(name: str) -> None:
    """Leave the server as we found it."""
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _memory_backed_dir(tmp_path_factory) -> Path:
    """A directory on tmpfs where there is one: the same SQLite (WAL, locks, busy timeout), but a commit's fsync
    costs microseconds instead of milliseconds on a busy disk, and the suite commits tens of thousands of times."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix=f"newsletter-test-{RUN_ID}-", dir=shm))
    return tmp_path_factory.mktemp("sqlite")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A migrated, empty database of each kind; every storage test runs on both."""
    if request.param == "sqlite":
        url = f"sqlite:///{_memory_backed_dir(tmp_path_factory) / 'newsletter.db'}"
    else:
        url = _fresh_postgres_database(f"newsletter_test_{RUN_ID}")
    migrate.upgrade(url)
    yield url
    engine_for(url).dispose()
    if request.param == "postgresql":
        _drop_postgres_database(f"newsletter_test_{RUN_ID}")
    else:
        shutil.rmtree(Path(url.removeprefix("sqlite:///")).parent, ignore_errors=True)


@pytest.fixture(scope="session")
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free port that records every message it accepts."""
    server = RecordingSmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def service_env(database_url, smtp_server, tmp_path_factory) -> dict[str, str]:
    """Environment for the test process and the worker alike."""
    return {
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "BROKER_URL": REDIS_URL,
        "TASK_QUEUE": f"test-{RUN_ID}",
        "SMTP_URL": f"smtp://127.0.0.1:{smtp_server.port}",
        "DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "SECRET_KEY": "test-secret-key-0123456789abcdef",
        "BASE_URL": "http://testserver",
        "RATE_LIMIT_STORAGE_URL": LIMITS_URL,
        "MAIL_FROM": "World News daily <news@news.example.org>",
        "POSTAL_ADDRESS": "Test Newsletter Ltd, 1 Test Street, Testville",
    }


@pytest.fixture(scope="session")
def settings(service_env) -> Settings:
    """Settings of the test process, also exported so Celery's lazy config sees the same values."""
    os.environ.update(service_env)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture(scope="session")
def celery_worker(settings, service_env, tmp_path_factory):
    """A real `celery -A worker worker` process (prefork, 2 children) consuming from real Redis."""
    redis.Redis.from_url(REDIS_URL).delete(service_env["TASK_QUEUE"])
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    worker = Worker({**os.environ, **service_env}, log_path, f"test-{RUN_ID}", concurrency=2).start()
    yield worker.proc
    worker.stop()


@pytest.fixture
def db(settings, request):
    """A session on a database emptied after each test."""
    factory = session_factory(settings.effective_database_url)
    session = factory()
    yield session
    session.close()
    if request.config.getoption("--fast"):  # no worker runs: what a test queued is dropped, not waited for
        redis.Redis.from_url(REDIS_URL).delete(f"test-{RUN_ID}")
    else:
        wait_for_idle_worker(f"test-{RUN_ID}")
    engine = engine_for(settings.effective_database_url)
    for attempt in range(5):  # a task still finishing can hold a row lock: its deadlock victim tries again
        try:
            with engine.begin() as conn:
                for table in reversed(Base.metadata.sorted_tables):
                    conn.execute(text(f"DELETE FROM {table.name}"))
            break
        except OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.5)
    reset_rate_limits()


def wait_for_idle_worker(queue: str, timeout: float = 15.0, quiet: float = 0.0) -> None:
    """Until the queue is empty and no task is taken but unfinished (acks_late: a task is acked once done).

    A task passes from the queue to the unacked set in two steps of the worker's: with `quiet` the state must hold
    that long, so a task between the two is seen. After `timeout` it goes on: the caller's assertion decides.
    """
    broker = redis.Redis.from_url(REDIS_URL)
    deadline = time.monotonic() + timeout
    idle_since: float | None = None
    while (now := time.monotonic()) < deadline:
        if broker.llen(queue) or _taken_from(broker, queue):
            idle_since = None
        else:
            idle_since = now if idle_since is None else idle_since
            if now - idle_since >= quiet:
                return
        time.sleep(0.02)


def _taken_from(broker: redis.Redis, queue: str) -> bool:
    """Whether a worker holds an unfinished task of this queue (Redis keeps one "unacked" hash for every run)."""
    return any(json.loads(value)[2] == queue for value in broker.hvals("unacked"))


def reset_rate_limits() -> None:
    """Every test starts with fresh counters, as a new day would."""
    limits = redis.Redis.from_url(LIMITS_URL)
    for key in limits.scan_iter(f"LIMITS:test-{RUN_ID}*"):  # this run's counters only: runs may overlap
        limits.delete(key)


@pytest.fixture
def mailbox(smtp_server):
    """The SMTP server's messages, emptied before each test; `assert_nothing_for` waits for the worker to be idle."""
    smtp_server.clear()
    smtp_server.settle = lambda: wait_for_idle_worker(f"test-{RUN_ID}", quiet=0.1)
    return smtp_server


@pytest.fixture
def world_news(db):
    """The demo list most tests subscribe to."""
    from service.lists.rules import DEMO_LIST, create_list

    return create_list(db, **DEMO_LIST)


@pytest.fixture
def client(settings, celery_worker, db, mailbox):
    """A test client of the real app, whose emails go through the real worker to the real SMTP server."""
    from fastapi.testclient import TestClient

    from tests.support.apps import shared_app

    with TestClient(shared_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def output_dir() -> Path:
    """Where tests leave artefacts (screenshots) for a person to look at."""
    path = REPO_ROOT / "test-output"
    path.mkdir(exist_ok=True)
    return path
