"""Workers on several hosts, with faults between them made for real (Linux network namespaces, veth, a bridge).

Three hosts each run a Celery worker (2 pool processes, one SMTP connection each) against a private
PostgreSQL, Redis and SMTP server on a services host. No beat runs: an operator's `editions send` starts
the edition, so whatever recovers it is the workers' own doing. Mid-edition one thing breaks:
- host 1 is unplugged (reaches neither the database nor SMTP), then plugged back in;
- host 1 can reach SMTP but not the database: it stops sending within one message per connection;
- PostgreSQL restarts;
- Redis restarts (every queued task is lost).
Each test then asserts that every reader got the edition, that duplicates stay within the in-flight
allowance (one message per SMTP connection that lost its way to the ledger), that the ledger says sent
for everyone, and that recovery kept within its stated bound: a cut-off host's share is finished by the
others within RECOVERY_BOUND s of the cut, and the host alone sends a later edition, starting within
HOST_BACK_BOUND s of coming back; after a server restart mail flows again within RESUME_BOUND s and the
edition completes within RECOVERY_BOUND s. The figures (duplicates, misses, recovery seconds, messages a
second per host) are printed (pytest -s) and written to test-output/multihost-<scenario>.txt.

Where namespaces cannot be made (not root), the tests fail with one line: they are never skipped.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis

from service.core.db import engine_for, session_factory
from service.lists.rules import create_list
from service.models import DeliveryStatus, utcnow
from service.ops import migrate
from tests.support.edition_stories import day_of_stories
from tests.support.faults import Figures, edition_complete, first_log_line, ledger_state, send_edition, wait_for
from tests.support.lab import HostSmtpServer, NamespacedRedis, PrivatePostgres, start_workers
from tests.support.netns import NetnsUnavailable, Network
from tests.support.processes import Worker
from tests.support.readers import add_readers

pytestmark = pytest.mark.multihost

HOSTS = 3
CONCURRENCY = 2  # pool processes per host, each with one SMTP connection at a time
READERS = 1000
RATE = 300  # the global send rate (in Redis); the test SMTP server takes ~90 messages a second, so ~11 s an edition
LEASE_SECONDS = 5
MIN_FAULT_SECONDS = 5  # a link, a route, PostgreSQL or Redis stays broken at least this long (a lease)
RECOVERY_BOUND = 30  # every reader reached within this many seconds (see each scenario for from when)
RESUME_BOUND = 15  # after a server restart, mail flows again this soon after it is back (drains retry 1, 2, 4, 8 s)
HOST_BACK_BOUND = 30  # a host that was cut off sends (a later edition) again within this long after it is back
LATER_READERS = 300  # the later edition's readers
# libpq gives up on a connection whose sent statement stays unanswered this long (the product's default is 60 s,
# see service.core.db; shortened here as the lease is, so a cut-off host notices within the test)
TCP_USER_TIMEOUT = "tcp_user_timeout=3000"
NOTICE_BOUND = 10  # a host cut off from the database notices (its drains give up and retry) within this long
TEMPLATE = "multihost_template"
RUN = os.getpid()
_numbers = itertools.count(1)


@dataclass
class Lab:
    """The network and the services host: what every scenario shares."""

    network: Network
    postgres: PrivatePostgres
    redis: NamespacedRedis
    smtp: HostSmtpServer
    root: Path


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    """Namespaces, a private PostgreSQL (a migrated template database), Redis and SMTP; all removed at the end."""
    network = Network(HOSTS)
    with ExitStack() as cleanup:
        cleanup.callback(network.destroy)
        problem = None
        try:
            network.create()
        except NetnsUnavailable as error:
            problem = f"multi-host tests cannot run: {error}"
        if problem:  # outside the except: one line, no chained traceback
            pytest.fail(problem, pytrace=False)
        for stale in Path(tempfile.gettempdir()).glob("multihost-*-*"):  # of runs killed before their cleanup
            if not Path(f"/proc/{stale.name.split('-')[1]}").exists():
                shutil.rmtree(stale, ignore_errors=True)
        root = Path(tempfile.mkdtemp(prefix=f"multihost-{RUN}-"))
        cleanup.callback(shutil.rmtree, root, ignore_errors=True)
        postgres = PrivatePostgres(network, root).init()
        cleanup.callback(postgres.stop, "immediate")
        postgres.start()
        broker = NamespacedRedis(network, root / "redis.log")
        cleanup.callback(broker.kill)
        broker.start()
        smtp = HostSmtpServer(network)
        smtp.start()
        cleanup.callback(smtp.stop)
        with postgres.admin() as admin:
            admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
        migrate.upgrade(postgres.url(TEMPLATE))
        engine_for(postgres.url(TEMPLATE)).dispose()  # a template must have no connections when copied
        yield Lab(network, postgres, broker, smtp, root)


@dataclass
class Run:
    """One scenario's database, readers and hosts."""

    lab: Lab
    url: str
    readers: list[str]
    later: list[str]  # a second list, sent after a cut-off host is back
    env: dict[str, str]
    workers: list[Worker] = field(default_factory=list)


@pytest.fixture
def run(lab, tmp_path) -> Iterator[Run]:
    """A fresh database (copied from the template) with a list, its readers and the day's stories; hosts idle."""
    name = f"multihost_{RUN}_{next(_numbers)}"
    with lab.postgres.admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    url = lab.postgres.url(name)
    session = session_factory(url)()
    mailing_list = create_list(
        session,
        slug="multihost",
        name="Multi-host daily",
        timezone="UTC",
        send_time=(utcnow() + timedelta(hours=1)).time().replace(microsecond=0),
        categories=["World News"],
    )
    readers = add_readers(engine_for(url), mailing_list.id, READERS)
    second = create_list(
        session,
        slug="multihost-later",
        name="Multi-host later",
        timezone="UTC",
        send_time=mailing_list.send_time,
        categories=["World News"],
    )
    later = add_readers(engine_for(url), second.id, LATER_READERS, prefix="later")
    day_of_stories(session)
    session.close()
    redis.Redis.from_url(lab.redis.url()).flushall()  # nothing queued by an earlier scenario
    lab.smtp.clear()
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": f"{url}?{TCP_USER_TIMEOUT}",
        "BROKER_URL": lab.redis.url(0),
        "RATE_LIMIT_STORAGE_URL": lab.redis.url(1),
        "TASK_QUEUE": f"multihost-{RUN}",
        "SMTP_URL": f"smtp://{lab.network.services_ip}:25",
        "SECRET_KEY": "test-secret-key-0123456789abcdef",
        "BASE_URL": "http://testserver",
        "MAIL_FROM": "World News daily <news@news.example.org>",
        "POSTAL_ADDRESS": "Test Newsletter Ltd, 1 Test Street, Testville",
        "DATA_DIR": str(tmp_path),
        "SEND_LEASE_SECONDS": str(LEASE_SECONDS),
        "SEND_RATE_PER_SECOND": str(RATE),
        "SEND_BATCH_SIZE": "50",
        "SEND_PARALLELISM": str(2 * HOSTS * CONCURRENCY),
        "DRAIN_MAX_SECONDS": "30",
    }
    env.pop("REDIS_URL", None)  # the global send rate lives in the private Redis too
    current = Run(lab, url, readers, later, env)
    try:
        yield current
    finally:
        for worker in current.workers:
            worker.kill()
        lab.network.heal()
        engine_for(url).dispose()
        with lab.postgres.admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _all_hosts_sending(current: Run, at_least: int = 20) -> Callable[[], bool]:
    """Every host has handed over mail, so the fault hits a host that is really at work."""
    network, smtp = current.lab.network, current.lab.smtp
    return lambda: all(smtp.from_host(network.host_ip(n)) >= at_least for n in range(HOSTS))


def _timeline(current: Run) -> str:
    """Messages each second of the edition, per host: where the fault and the recovery show."""
    network = current.lab.network
    rows = current.lab.smtp.per_second([network.host_ip(number) for number in range(HOSTS)])
    return "; ".join(f"h{number + 1}=" + ",".join(map(str, row)) for number, row in enumerate(rows))


def _count(current: Run, figures: Figures, readers: list[str]) -> Figures:
    """Count what the SMTP server got, with the scenario's setup and its timeline per host."""
    figures.setup = (
        f"hosts: {HOSTS} x {CONCURRENCY} connections, readers: {READERS}, rate: {RATE}/s, "
        f"lease: {LEASE_SECONDS} s, no beat"
    )
    figures.notes["messages a second per host"] = _timeline(current)
    return figures.count(current.lab.smtp, current.url, readers)


def _under_way(current: Run, tmp_path: Path) -> None:
    """Start the hosts and the edition; return once every host is sending."""
    current.workers += start_workers(current.lab.network, current.env, tmp_path, f"mh-{RUN}", CONCURRENCY)
    send_edition(current.env, "multihost")
    wait_for(_all_hosts_sending(current), 60, "every host sending")
    assert not edition_complete(current.url), "the edition ended before the fault: nothing would be tested"


def _host_cut_off(
    current: Run, tmp_path: Path, scenario: str, fault: str, cut: Callable[[], None], mend: Callable[[], None]
) -> Figures:
    """Cut host 1 off mid-edition; the others must finish everything, its claimed rows too, while it is away.

    Then it comes back, the other hosts stop, and a later edition starts: host 1's workers must notice
    their leases are gone, send nothing more than what was in flight, and send the whole later edition,
    starting within HOST_BACK_BOUND seconds.
    """
    _under_way(current, tmp_path)
    smtp, host = current.lab.smtp, current.lab.network.host_ip(0)
    cut_started, cut_clock = time.monotonic(), datetime.now()  # what is timed from the cut counts from here
    cut()
    cut_at = time.monotonic()  # messages "while cut off" count from when `ip` has put the fault in place
    wait_for(
        lambda: edition_complete(current.url),
        RECOVERY_BOUND,
        f"{scenario}: edition complete without host 1",
        ledger_state(current.url, current.lab.postgres.admin),
    )
    complete_at = time.monotonic()
    time.sleep(max(0.0, cut_at + MIN_FAULT_SECONDS - time.monotonic()))
    sent_while_cut = smtp.from_host(host, since=cut_at)
    noticed = first_log_line(current.workers[0].log_path, "database unreachable", cut_clock)
    for others in current.workers[1:]:  # the later edition is host 1's alone, or the others could finish it first
        others.stop()
    mend()
    mended_at = time.monotonic()
    send_edition(current.env, "multihost-later")  # a second list's edition: only host 1 is left to send it
    wait_for(
        lambda: smtp.from_host(host, since=mended_at) > 0,
        HOST_BACK_BOUND,
        "host 1 sending again",
        ledger_state(current.url, current.lab.postgres.admin),
    )
    back_at = time.monotonic()
    wait_for(
        lambda: edition_complete(current.url),
        RECOVERY_BOUND,
        f"{scenario}: later edition complete",
        ledger_state(current.url, current.lab.postgres.admin),
    )
    figures = Figures(
        scenario, fault, f"bound {RECOVERY_BOUND} s from the cut, host 1 still away", recovery=complete_at - cut_started
    )
    figures.notes = {
        "host 1 cut off for": f"{mended_at - cut_started:.1f} s",
        "host 1 messages while cut off": sent_while_cut,
        "host 1 noticed it lost the database after": "not while cut off"
        if noticed is None
        else f"{(noticed - cut_clock).total_seconds():.1f} s ({TCP_USER_TIMEOUT.replace('=', ' ')} ms, "
        f"bound {NOTICE_BOUND} s)",
        "host 1 sending again (a later edition) after it was back": f"{back_at - mended_at:.1f} s "
        f"(bound {HOST_BACK_BOUND} s)",
    }
    return _count(current, figures, current.readers + current.later)


def _server_restart(
    current: Run, tmp_path: Path, scenario: str, fault: str, stop: Callable[[], None], start: Callable[[], None]
) -> Figures:
    """Stop a server every host uses mid-edition, keep it down a while, start it again; the hosts must finish."""
    _under_way(current, tmp_path)
    stopped_at = time.monotonic()
    stop()
    time.sleep(MIN_FAULT_SECONDS)
    start()
    back_at = time.monotonic()
    wait_for(
        lambda: edition_complete(current.url),
        RECOVERY_BOUND,
        f"{scenario}: edition complete",
        ledger_state(current.url, current.lab.postgres.admin),
    )
    figures = Figures(
        scenario, fault, f"bound {RECOVERY_BOUND} s from the server being back", recovery=time.monotonic() - back_at
    )
    resumed = current.lab.smtp.first_after(back_at)
    figures.notes = {
        "server down for": f"{back_at - stopped_at:.1f} s",
        "sending again after the server was back": "never"
        if resumed is None
        else f"{max(0.0, resumed - back_at):.1f} s (bound {RESUME_BOUND} s)",
    }
    return _count(current, figures, current.readers)


def _assert_recovered(figures: Figures, allowed_duplicates: int) -> None:
    """Everyone once (but the in-flight allowance), the ledger all sent."""
    assert figures.misses == 0, f"{figures.misses} readers never got the edition\n{figures.report()}"
    assert figures.duplicates <= allowed_duplicates, (
        f"{figures.duplicates} duplicates (allowed {allowed_duplicates})\n{figures.report()}"
    )
    assert figures.statuses == {DeliveryStatus.sent: figures.expected}, figures.report()


def _assert_resumed(figures: Figures) -> None:
    """Sending started again soon after the server came back (drains retry by themselves, no beat)."""
    resumed = str(figures.notes["sending again after the server was back"])
    assert resumed != "never" and float(resumed.split()[0]) <= RESUME_BOUND, figures.report()


def test_database_connections_give_up_on_a_silent_server(lab):
    """Proves: the service's PostgreSQL connections carry keepalives and a TCP user timeout, and the URL can tune them.

    Without them a worker whose database went silent (a partition, a vanished server) waits on the kernel's
    ~15 minutes of retransmissions before its drain can fail and try again.
    """

    def options(url: str) -> dict[str, str]:
        """The libpq options a new connection of the service's engine was made with."""
        with engine_for(url).connect() as conn:
            info = conn.connection.dbapi_connection.pgconn.info  # type: ignore[union-attr]
            return {o.keyword.decode(): (o.val or b"").decode() for o in info}

    url = lab.postgres.url("postgres")
    by_default = options(url)
    assert by_default["keepalives"] == "1" and by_default["tcp_user_timeout"] == "60000", by_default
    assert by_default["connect_timeout"] == "10" and by_default["keepalives_idle"] == "30", by_default
    assert options(f"{url}?{TCP_USER_TIMEOUT}")["tcp_user_timeout"] == "3000"


def test_a_host_unplugged_mid_edition_loses_no_reader(run, tmp_path):
    """Proves: a host that reaches neither database nor SMTP costs at most its in-flight messages, and comes back."""
    network = run.lab.network
    figures = _host_cut_off(
        run,
        tmp_path,
        "link-down",
        "host 1's link down mid-edition, up again after",
        lambda: network.cut(0),
        lambda: network.mend(0),
    )
    _assert_recovered(figures, allowed_duplicates=CONCURRENCY)


def test_a_host_without_the_database_stops_sending(run, tmp_path):
    """Proves: a host that still reaches SMTP but not the ledger sends at most one more message per connection."""
    network = run.lab.network
    figures = _host_cut_off(
        run,
        tmp_path,
        "database-unreachable",
        "host 1 reaches SMTP and Redis but not PostgreSQL (blackhole route), then again",
        lambda: network.block(0, network.database_ip),
        lambda: network.unblock(0, network.database_ip),
    )
    _assert_recovered(figures, allowed_duplicates=CONCURRENCY)
    sent = figures.notes["host 1 messages while cut off"]
    assert isinstance(sent, int) and sent <= CONCURRENCY, figures.report()
    noticed = str(figures.notes["host 1 noticed it lost the database after"])
    assert noticed[0].isdigit() and float(noticed.split()[0]) <= NOTICE_BOUND, figures.report()


def test_postgresql_restart_mid_edition(run, tmp_path):
    """Proves: the ledger's server going away and coming back stops no host for good (no beat to help)."""
    postgres = run.lab.postgres
    figures = _server_restart(
        run,
        tmp_path,
        "postgresql-restart",
        "PostgreSQL stopped (fast) mid-edition, started",
        postgres.stop,
        postgres.start,
    )
    _assert_recovered(figures, allowed_duplicates=HOSTS * CONCURRENCY)
    _assert_resumed(figures)


def test_redis_restart_mid_edition(run, tmp_path):
    """Proves: losing the broker and every queued task mid-edition, on several hosts, loses no reader."""
    broker = run.lab.redis
    figures = _server_restart(
        run, tmp_path, "redis-restart", "Redis killed mid-edition (keeps nothing), started", broker.kill, broker.start
    )
    _assert_recovered(figures, allowed_duplicates=0)
    _assert_resumed(figures)
