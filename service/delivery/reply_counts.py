"""Each finished edition's SMTP reply classes, counted once. SQL for edition_reply_counts lives here.

/metrics' reply counter sums every delivery row ever tried. Under the default 90-day retention a
million readers a day keeps ~90 million rows, and reading them all took seconds per million at every
scrape. A finished edition's rows no longer change, so the sweeper counts each one once, here; scrapes
read these counts and count only the rows of editions still open. A count is valid for the completion
it was made after: an edition reopened ("retry failed") and completed again is counted again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, ForeignKey, Table, case, delete, func, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, mapped_column

from service.core.db import insert_ignoring
from service.delivery import ledger_status, rollup
from service.delivery.edition_lock import lock_edition
from service.models import Base, Delivery, DeliveryStatus, Edition, EditionStatus

REPLY_CLASSES = rollup.REPLY_CLASSES
D = cast(Table, Delivery.__table__)
E = cast(Table, Edition.__table__)


class EditionReplyCounts(Base):
    """One finished edition's ledger rows by the class of their last SMTP reply, as at its completion."""

    __tablename__ = "edition_reply_counts"

    edition_id: Mapped[int] = mapped_column(
        ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    completed_at: Mapped[datetime | None] = mapped_column()  # the edition's completed_at these counts belong to
    replies_2xx: Mapped[int] = mapped_column(default=0)
    replies_4xx: Mapped[int] = mapped_column(default=0)
    replies_5xx: Mapped[int] = mapped_column(default=0)
    replies_none: Mapped[int] = mapped_column(default=0)
    counted_at: Mapped[datetime] = mapped_column()


C = cast(Table, EditionReplyCounts.__table__)


def reply_class() -> ColumnElement:
    """A row's reply class (none: failed without a reply); NULL for rows never tried or skipped."""
    klass = case(
        (D.c.smtp_code.is_(None), "none"), (D.c.smtp_code < 300, "2xx"), (D.c.smtp_code < 500, "4xx"), else_="5xx"
    )
    answered = or_(D.c.smtp_code.is_not(None), D.c.status == DeliveryStatus.failed)
    return case((answered, klass), else_=None)


def count_rows(conn: Connection, edition_ids: Sequence[int]) -> dict[str, int]:
    """Reply classes over these editions' ledger rows (read by edition, through the index that leads with it)."""
    totals = dict.fromkeys(REPLY_CLASSES, 0)
    if edition_ids:
        klass = reply_class()
        for name, number in conn.execute(
            select(klass, func.count()).where(D.c.edition_id.in_(list(edition_ids)), klass.is_not(None)).group_by(klass)
        ):
            totals[name] += number
    return totals


def _valid() -> ColumnElement:
    """A stored count still describes its edition: finished, and by the same completion."""
    return (
        (C.c.edition_id == E.c.id)
        & E.c.send_status.in_(EditionStatus.finished)
        & C.c.completed_at.is_not_distinct_from(E.c.completed_at)
    )


def counted_totals(conn: Connection) -> tuple[dict[str, int], set[int]]:
    """Sums of the valid stored counts of editions not rolled up, and those editions' ids."""
    rows = conn.execute(select(C).join(E, _valid()).where(C.c.edition_id.not_in(rollup.rolled_up_ids()))).all()
    totals = {name: sum(getattr(row, f"replies_{name}") for row in rows) for name in REPLY_CLASSES}
    return totals, {row.edition_id for row in rows}


def uncounted(conn: Connection, *, limit: int | None = None) -> list[int]:
    """Finished editions, not rolled up, without a valid stored count: what the sweeper counts next."""
    counted = select(C.c.edition_id).join(E, _valid())
    query = (
        select(E.c.id)
        .where(
            E.c.send_status.in_(EditionStatus.finished), E.c.id.not_in(rollup.rolled_up_ids()), E.c.id.not_in(counted)
        )
        .order_by(E.c.id)
        .limit(limit)
    )
    return list(conn.scalars(query))


def count_finished(engine: Engine, *, now: datetime, limit: int = 5) -> list[int]:
    """Count up to `limit` newly finished editions once (the sweeper's step); returns the editions counted."""
    with engine.connect() as conn:
        todo = uncounted(conn, limit=limit)
    done = []
    for edition_id in todo:
        with engine.begin() as conn:  # the edition row locked: a "retry failed" reopening it waits for this
            edition = lock_edition(conn, edition_id)
            if edition is None or edition.send_status not in EditionStatus.finished:
                continue  # deleted, or reopened since it was listed
            if ledger_status.has_open(conn, edition_id):
                continue  # a cancelled edition's last in-flight messages are still being recorded
            totals = count_rows(conn, [edition_id])
            conn.execute(delete(C).where(C.c.edition_id == edition_id))
            conn.execute(
                insert_ignoring(conn, C, ["edition_id"]).values(
                    edition_id=edition_id,
                    completed_at=edition.completed_at,
                    counted_at=now,
                    **{f"replies_{name}": totals[name] for name in REPLY_CLASSES},
                )
            )
            done.append(edition_id)
    return done
