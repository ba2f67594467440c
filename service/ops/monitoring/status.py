"""One snapshot of the whole service for ops: checks, queues, workers, heartbeats, sends, stuck leases, failures."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from service.core.config import Settings
from service.core.db import session_scope
from service.editions.drafts import Waiting, awaiting_approval
from service.models import utcnow
from service.ops.monitoring import checks as scheduled
from service.ops.monitoring import failures as failure_list
from service.ops.monitoring import figures, heartbeats, upcoming
from service.ops.monitoring.failures import Failure
from service.ops.monitoring.figures import EditionFigures
from service.ops.monitoring.health import Check, check_database
from service.ops.monitoring.queues import QueueReport, Workers, queue_depths
from service.ops.monitoring.upcoming import NextSend

STALE_BEAT_TICKS = 3  # beat is "not seen" after this many dispatch intervals without a tick


@dataclass(frozen=True)
class Status:
    """What `newsletter status`, /metrics and the dashboard show, gathered once."""

    at: datetime
    checks: list[Check]
    queues: QueueReport
    workers: Workers
    task_queue: str
    heartbeats: dict[str, datetime] = field(default_factory=dict)
    beat_max_age: timedelta = timedelta(minutes=3)
    next_sends: list[NextSend] = field(default_factory=list)
    editions: list[EditionFigures] = field(default_factory=list)
    stuck_leases: int = 0
    failures: list[Failure] = field(default_factory=list)
    smtp_replies: dict[str, int] = field(default_factory=dict)
    awaiting_approval: list[Waiting] = field(default_factory=list)  # held editions past their send time

    @property
    def beat_age(self) -> timedelta | None:
        """How long ago beat's dispatch tick last ran, or None if never seen."""
        seen = self.heartbeats.get(heartbeats.BEAT)
        return self.at - seen if seen else None

    @property
    def consuming_workers(self) -> list[str]:
        """Workers that take tasks from our queue."""
        return list(self.workers.consuming(self.task_queue))

    @property
    def problems(self) -> list[str]:
        """Everything that needs a person, one line each (empty when healthy)."""
        return [line for line, _ in self.problem_lines]

    @property
    def problem_lines(self) -> list[tuple[str, int | None]]:
        """The problems, each with the edition it is about (the dashboard links to its page), else None."""
        found = [f"{check.name} is down: {check.error}" for check in self.checks if not check.ok]
        broker_up = self.queues.ok and all(check.ok for check in self.checks if check.name == "broker")
        if broker_up and self.workers.error:
            found.append(f"cannot ask the workers: {self.workers.error}")
        elif broker_up and not self.consuming_workers:
            found.append(f"no worker online consuming queue {self.task_queue!r}")
        if not all(check.ok for check in self.checks if check.name == "database"):
            return [(line, None) for line in found]
        age = self.beat_age
        if age is None:
            found.append("beat has never been seen (no dispatch tick recorded)")
        elif age > self.beat_max_age:
            found.append(
                f"beat not seen for {int(age.total_seconds())} s (expected a tick every "
                f"{int(self.beat_max_age.total_seconds()) // STALE_BEAT_TICKS} s)"
            )
        lines: list[tuple[str, int | None]] = [(line, None) for line in found]
        lines += [
            (f"edition {e.list_slug} {e.edition_date} (#{e.edition_id}) {e.pause_reason}", e.edition_id)
            for e in self.paused_for_refusals
        ]
        lines += [
            (
                f"edition {w.list_slug} {w.edition_date} (#{w.edition_id}) is waiting for approval since "
                f"{w.due_at:%Y-%m-%d %H:%M} UTC (its list holds editions until an editor approves them)",
                w.edition_id,
            )
            for w in self.awaiting_approval
        ]
        if self.stuck_leases:
            stuck = f"{self.stuck_leases} deliveries stuck in sending with an expired lease (is the sweeper running?)"
            lines.append((stuck, None))
        return lines

    @property
    def paused_for_refusals(self) -> list[EditionFigures]:
        """Editions the service paused because receivers refuse our sending setup (a person must fix it, resume)."""
        return [edition for edition in self.editions if edition.pause_reason]

    @property
    def healthy(self) -> bool:
        """Nothing needs a person."""
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        """The same facts as plain JSON values (ISO dates, numbers, strings)."""
        age = self.beat_age
        plain: dict[str, Any] = _plain(
            {
                "at": self.at,
                "healthy": self.healthy,
                "problems": self.problems,
                "checks": {check.name: check.as_json() for check in self.checks},
                "broker": self.queues.broker,
                "broker_error": self.queues.error,
                "queues": self.queues.depths,
                "unacked": self.queues.unacked,
                "workers": {
                    "online": self.workers.online,
                    "consuming": self.consuming_workers,
                    "error": self.workers.error,
                    "checked_at": self.workers.checked_at,
                },
                "heartbeats": self.heartbeats,
                "beat_age_seconds": age.total_seconds() if age else None,
                "next_sends": [dataclasses.asdict(send) for send in self.next_sends],
                "editions": [
                    {
                        **dataclasses.asdict(edition),
                        "done": edition.done,
                        "progress": edition.progress,
                        "sent_rate": edition.sent_rate,
                        "failure_rate": edition.failure_rate,
                        "unsubscribe_rate": edition.unsubscribe_rate,
                    }
                    for edition in self.editions
                ],
                "stuck_leases": self.stuck_leases,
                "failures": [dataclasses.asdict(failure) for failure in self.failures],
                "smtp_replies": self.smtp_replies,
                "awaiting_approval": [dataclasses.asdict(waiting) for waiting in self.awaiting_approval],
            }
        )
        return plain


def _plain(value: Any) -> Any:
    """JSON-safe copy: datetimes and dates as ISO 8601 strings."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(settings: Settings, *, now: datetime | None = None, failures: int = 10) -> Status:
    """Ask the database and the broker (a query each), read the scheduled SMTP and worker checks; never raises."""
    now = now or utcnow()
    database = check_database(settings)
    started = time.perf_counter()
    report = queue_depths(settings)  # the broker round trip a scrape makes anyway: it is the broker's check
    broker = Check("broker", report.ok, (time.perf_counter() - started) * 1000, report.error)
    unknown = "not known: the database, which keeps the last check, is down"
    dispatch_every = min(settings.dispatch_interval_seconds, 300.0)
    status = Status(
        at=now,
        checks=[database, broker, Check(scheduled.SMTP, False, 0.0, unknown)],
        queues=report,
        workers=Workers(error=unknown),
        task_queue=settings.task_queue,
        beat_max_age=timedelta(seconds=dispatch_every * STALE_BEAT_TICKS),
    )
    if not database.ok:
        return status
    with session_scope(settings.effective_database_url) as session:
        smtp, workers = scheduled.last_results(session, settings, now)
        return dataclasses.replace(
            status,
            checks=[database, broker, smtp],
            workers=workers,
            heartbeats=heartbeats.all_seen(session),
            next_sends=upcoming.next_sends(session, now=now, catchup=timedelta(hours=settings.dispatch_catchup_hours)),
            editions=figures.active_editions(session, now=now),
            stuck_leases=figures.stuck_leases(session, now=now),
            failures=failure_list.recent_failures(session, limit=failures),
            smtp_replies=figures.smtp_reply_classes(session),
            awaiting_approval=awaiting_approval(session, now),
        )
