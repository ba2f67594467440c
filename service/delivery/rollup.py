"""Per-edition roll-ups of pruned ledger rows: the figures that outlive the rows. SQL for edition_rollups lives here.

Once an edition's roll-up row exists it is the edition's truth: figures read it and ignore any ledger rows
left (a prune stopped halfway deletes the rest later), so nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import JSON, ForeignKey, Select, Table, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from service.core.db import insert_ignoring
from service.models import Base, as_utc

REPLY_CLASSES = ("2xx", "4xx", "5xx", "none")


class EditionRollup(Base):
    """One finished edition's ledger in numbers, written before its delivery rows are deleted."""

    __tablename__ = "edition_rollups"

    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    planned: Mapped[int] = mapped_column(default=0)
    sent: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    failed_by_kind: Mapped[dict] = mapped_column(JSON, default=dict)  # FailureKind value (or "unknown") -> rows
    skipped: Mapped[int] = mapped_column(default=0)
    cancelled: Mapped[int] = mapped_column(default=0)
    bounced: Mapped[int] = mapped_column(default=0)  # as at roll-up; the bounce rows themselves are kept
    complained: Mapped[int] = mapped_column(default=0)
    replies_2xx: Mapped[int] = mapped_column(default=0)  # /metrics' cumulative reply counter must not drop
    replies_4xx: Mapped[int] = mapped_column(default=0)
    replies_5xx: Mapped[int] = mapped_column(default=0)
    replies_none: Mapped[int] = mapped_column(default=0)
    first_sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_sent_at: Mapped[datetime | None] = mapped_column(default=None)
    rolled_up_at: Mapped[datetime] = mapped_column()


R = cast(Table, EditionRollup.__table__)


@dataclass(frozen=True)
class Rollup:
    """A roll-up row as the figures read it."""

    edition_id: int
    planned: int
    sent: int
    failed: int
    skipped: int
    cancelled: int
    bounced: int
    complained: int
    rolled_up_at: datetime
    failed_by_kind: dict[str, int] = field(default_factory=dict)
    replies: dict[str, int] = field(default_factory=dict)
    first_sent_at: datetime | None = None
    last_sent_at: datetime | None = None


def write(conn: Connection, rollup: Rollup) -> bool:
    """Store an edition's roll-up once; False when one exists already (a re-run never recounts)."""
    values = {
        "edition_id": rollup.edition_id,
        "planned": rollup.planned,
        "sent": rollup.sent,
        "failed": rollup.failed,
        "failed_by_kind": dict(rollup.failed_by_kind),
        "skipped": rollup.skipped,
        "cancelled": rollup.cancelled,
        "bounced": rollup.bounced,
        "complained": rollup.complained,
        "first_sent_at": rollup.first_sent_at,
        "last_sent_at": rollup.last_sent_at,
        "rolled_up_at": rollup.rolled_up_at,
        **{f"replies_{name}": rollup.replies.get(name, 0) for name in REPLY_CLASSES},
    }
    written = conn.execute(insert_ignoring(conn, R, ["edition_id"]).values(**values).returning(R.c.edition_id))
    return written.first() is not None  # psycopg reports no rowcount for ON CONFLICT DO NOTHING


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives naive UTC datetimes back."""
    return as_utc(moment) if moment is not None else None


def for_editions(conn: Connection, edition_ids: Sequence[int]) -> dict[int, Rollup]:
    """The roll-ups of these editions (those that have one)."""
    if not edition_ids:
        return {}
    rows = conn.execute(select(R).where(R.c.edition_id.in_(list(edition_ids)))).all()
    return {
        row.edition_id: Rollup(
            edition_id=row.edition_id,
            planned=row.planned,
            sent=row.sent,
            failed=row.failed,
            skipped=row.skipped,
            cancelled=row.cancelled,
            bounced=row.bounced,
            complained=row.complained,
            rolled_up_at=as_utc(row.rolled_up_at),
            failed_by_kind=dict(row.failed_by_kind or {}),
            replies={name: getattr(row, f"replies_{name}") for name in REPLY_CLASSES},
            first_sent_at=_aware(row.first_sent_at),
            last_sent_at=_aware(row.last_sent_at),
        )
        for row in rows
    }


def exists_for(conn: Connection, edition_id: int) -> bool:
    """Whether the edition's ledger was rolled up (its rows are gone or going)."""
    return conn.scalar(select(R.c.edition_id).where(R.c.edition_id == edition_id)) is not None


def rolled_up_ids() -> Select:
    """Every rolled-up edition's id, as a subquery (live ledger counts leave these out)."""
    return select(R.c.edition_id)


def reply_totals(conn: Connection) -> dict[str, int]:
    """SMTP reply classes summed over every roll-up (added to the live ledger's for /metrics)."""
    row = conn.execute(select(*(func.coalesce(func.sum(R.c[f"replies_{name}"]), 0) for name in REPLY_CLASSES))).one()
    return dict(zip(REPLY_CLASSES, (int(value) for value in row), strict=True))
