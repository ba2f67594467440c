"""Heartbeats: periodic parts of the service (beat's dispatch tick, the sweeper) say when they last ran."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from service.admin.models import Heartbeat
from service.core.config import Settings
from service.models import as_utc, utcnow

H = cast(Table, Heartbeat.__table__)
BEAT = "beat"
SWEEPER = "sweeper"


def beat(engine: Engine, now: datetime, *, name: str = BEAT) -> None:
    """Upsert the heartbeat row: one row per name, however many ticks and beats."""
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(H).values(name=name, at=now)
        conn.execute(statement.on_conflict_do_update(index_elements=["name"], set_={"at": statement.excluded.at}))


def last_seen(session: Session, name: str = BEAT) -> datetime | None:
    """When that part last showed it was alive, or None if never."""
    moment = session.scalar(select(H.c.at).where(H.c.name == name))
    return as_utc(moment) if moment is not None else None


def all_seen(session: Session) -> dict[str, datetime]:
    """Every heartbeat by name, for the status view."""
    return {name: as_utc(at) for name, at in session.execute(select(H.c.name, H.c.at).order_by(H.c.name))}


def stale(settings: Settings, name: str = BEAT, max_age_seconds: float = 300.0) -> int:
    """A container health check: 0 when `name` was seen within max_age_seconds, 1 otherwise (or unreachable)."""
    from service.core.db import session_scope

    try:
        with session_scope(settings.effective_database_url) as session:
            seen = last_seen(session, name)
    except Exception:  # noqa: BLE001 - no database: not healthy either
        return 1
    return 0 if seen is not None and (utcnow() - seen).total_seconds() <= max_age_seconds else 1
