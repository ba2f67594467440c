"""Scheduled health checks: beat has SMTP and the workers asked every sweep interval, and keeps the last answers.

A scrape, the dashboard and `newsletter status` read these rows with their age instead of opening an SMTP
connection and waiting ~1 s for workers to answer a ping. A result older than STALE_INTERVALS intervals is not
believed: it is reported as down with its age (nobody is running the checks: beat or every worker is gone).
/readyz still asks live (service.ops.monitoring.health.readiness).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from service.admin.models import HealthCheck
from service.core.config import Settings
from service.models import as_utc
from service.ops.monitoring.health import Check, check_broker, check_smtp
from service.ops.monitoring.queues import Workers, workers_online

T = cast(Table, HealthCheck.__table__)
SMTP, WORKERS = "smtp", "workers"
STALE_INTERVALS = 3  # a stored result is stale after this many check intervals without a new one


def interval(settings: Settings) -> timedelta:
    """How often beat runs the checks: with the sweeper, every SWEEP_INTERVAL_SECONDS."""
    return timedelta(seconds=settings.sweep_interval_seconds)


def run_checks(settings: Settings, engine: Engine, now: datetime) -> tuple[Check, Workers]:
    """Ask SMTP and the workers now and store both answers (beat's task calls this; so can a test)."""
    smtp = check_smtp(settings)
    broker = check_broker(settings)
    workers = workers_online(settings, broker_ok=broker.ok)
    rows = [
        dict(name=SMTP, checked_at=now, ok=smtp.ok, latency_ms=smtp.latency_ms, error=smtp.error, detail=None),
        dict(
            name=WORKERS,
            checked_at=now,
            ok=workers.error is None,
            latency_ms=0.0,
            error=workers.error if broker.ok else f"broker is down: {broker.error}",
            detail=workers.online,
        ),
    ]
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        for row in rows:
            statement = dialect.insert(T).values(**row)
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["name"], set_={key: statement.excluded[key] for key in row if key != "name"}
                )
            )
    return smtp, workers


def _ago(age: timedelta) -> str:
    """'95 s ago' or '12 min ago'."""
    seconds = int(age.total_seconds())
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago"


def last_results(session: Session, settings: Settings, now: datetime) -> tuple[Check, Workers]:
    """The stored SMTP check and workers, each with its time; missing or stale ones come back as problems."""
    rows = {row.name: row for row in session.execute(select(T))}
    limit = interval(settings) * STALE_INTERVALS
    every = f"every {int(interval(settings).total_seconds())} s"

    def doubt(name: str) -> str | None:
        row = rows.get(name)
        if row is None:
            return f"never checked (beat has a worker check it {every}: are beat and a worker running?)"
        age = now - as_utc(row.checked_at)
        if age > limit:
            return f"last checked {_ago(age)}, stale (checked {every}: are beat and a worker running?)"
        return None

    smtp_row, workers_row = rows.get(SMTP), rows.get(WORKERS)
    smtp_at = as_utc(smtp_row.checked_at) if smtp_row else None
    if (problem := doubt(SMTP)) or smtp_row is None:
        smtp = Check(SMTP, False, smtp_row.latency_ms if smtp_row else 0.0, problem, smtp_at)
    else:
        smtp = Check(SMTP, smtp_row.ok, smtp_row.latency_ms, smtp_row.error, smtp_at)
    workers_at = as_utc(workers_row.checked_at) if workers_row else None
    if (problem := doubt(WORKERS)) or workers_row is None:
        workers = Workers(error=problem, checked_at=workers_at)
    else:
        workers = Workers(dict(workers_row.detail or {}), workers_row.error, workers_at)
    return smtp, workers
