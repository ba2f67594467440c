"""Measuring a fault scenario: waiting with an explanation, counting what the SMTP server got, reporting figures."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
from sqlalchemy import func, select

from service.core.config import REPO_ROOT
from service.core.db import engine_for
from service.models import Delivery, Edition, EditionStatus
from tests.support.cli import newsletter_process
from tests.support.smtp import CountingSmtpServer


def wait_for(condition: Callable[[], bool], timeout: float, what: str, explain: Callable[[], str] = lambda: "") -> None:
    """Poll until true; fail with what was awaited (and what `explain` says of the state then)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout} s\n{explain()}")
        time.sleep(0.05)


def send_edition(env: dict[str, str], slug: str) -> None:
    """The operator's `newsletter editions send`: the list's edition starts now and its drains go to the queue."""
    done = newsletter_process("editions", "send", "--list", slug, env=env)
    assert done.returncode == 0, done.stderr


def edition_complete(url: str) -> bool:
    """What the ledger says: no row pending or sending, every started edition marked complete."""
    with engine_for(url).connect() as conn:
        return set(conn.scalars(select(Edition.send_status))) == {EditionStatus.complete}


def first_log_line(log_path: Path, text: str, since: datetime) -> datetime | None:
    """When a Celery log first has a line containing `text` at or after a moment (the log's local time)."""
    for line in log_path.read_text(errors="replace").splitlines():
        if text in line and line.startswith("["):
            logged = datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f")
            if logged >= since:
                return logged
    return None


def ledger_counts(url: str) -> dict[str, int]:
    """Ledger rows per status."""
    with engine_for(url).connect() as conn:
        return {
            str(status): number
            for status, number in conn.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
        }


def ledger_state(url: str, admin: Callable[[], psycopg.Connection]) -> Callable[[], str]:
    """The ledger's counts, its leases and what each database session is doing: why an edition is not done."""

    def explain() -> str:
        """Read it now."""
        with admin() as conn:
            rows = conn.execute(
                "SELECT client_addr, state, wait_event_type, wait_event, left(query, 90) "
                "FROM pg_stat_activity WHERE datname = %s",
                (url.rsplit("/", 1)[1],),
            ).fetchall()
        with engine_for(url).connect() as conn:
            leases = conn.exec_driver_sql("SELECT token, expires_at, now() FROM delivery_leases").all()
        return "\n".join([f"ledger: {ledger_counts(url)}", f"leases: {leases}", "sessions:", *map(str, rows)])

    return explain


@dataclass
class Figures:
    """What a scenario measured, for the assertion messages and test-output/multihost-<scenario>.txt."""

    scenario: str
    fault: str
    bound: str
    setup: str = ""
    duplicates: int = 0
    misses: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    expected: int = 0  # readers who should have mail
    recovery: float = 0.0  # seconds, as the bound defines them
    notes: dict[str, object] = field(default_factory=dict)

    def report(self) -> str:
        """One block of text a person can quote."""
        lines = [
            f"scenario: {self.scenario}: {self.fault}",
            self.setup,
            f"duplicates: {self.duplicates}",
            f"misses: {self.misses}",
            f"ledger: {self.statuses}",
            f"recovery: {self.recovery:.1f} s ({self.bound})",
        ]
        lines += [f"{key}: {value}" for key, value in self.notes.items()]
        return "\n".join(line for line in lines if line)

    def count(self, smtp: CountingSmtpServer, url: str, readers: list[str]) -> Figures:
        """Duplicates and misses as the SMTP server saw them, and the ledger's word; written out and printed."""
        smtp.caught_up()  # a message whose final dot has arrived is recorded before the count
        received = Counter(rcpt for rcpt, _ in smtp.deliveries)
        ids: dict[str, str] = {}
        for rcpt, message_id in smtp.deliveries:
            assert ids.setdefault(rcpt, message_id) == message_id, "a duplicate carries the same Message-ID"
        self.statuses = ledger_counts(url)
        self.duplicates = sum(n - 1 for n in received.values())
        self.misses = len(set(readers) - set(received))
        self.expected = len(readers)
        output = REPO_ROOT / "test-output"
        output.mkdir(exist_ok=True)
        (output / f"multihost-{self.scenario}.txt").write_text(self.report() + "\n")
        print(f"\n{self.report()}")
        return self
