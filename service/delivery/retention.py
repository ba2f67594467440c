"""Ledger retention: a finished edition older than DELIVERY_RETENTION_DAYS keeps a roll-up and loses its rows.

A million readers a day is 365 million delivery rows a year. Past the window an edition's rows are only
counted, so they are counted once into edition_rollups, then deleted in small primary-key ranges, one short
transaction each, so a concurrent send never waits on a long lock and a crash loses at most one batch's work.
The roll-up is committed before the first delete and is never recomputed: a re-run finishes the deletes.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Table, and_, delete, exists, func, or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from service.bounces import store as bounce_store
from service.delivery import ledger_status, reply_counts, rollup
from service.delivery.edition_lock import lock_edition
from service.models import Delivery, DeliveryStatus, Edition, EditionStatus, MailingList

log = logging.getLogger(__name__)
D = cast(Table, Delivery.__table__)
E = cast(Table, Edition.__table__)


@dataclass(frozen=True)
class Pruned:
    """What one run did to one edition (in a dry run: what it would do)."""

    edition_id: int
    list_slug: str
    edition_date: date
    rows: int  # delivery rows deleted (dry run: there to delete)
    rolled_up: bool  # its roll-up was written by this run (False: by an earlier, interrupted one)


@dataclass
class PruneReport:
    """One prune run, for the CLI, the task's log line and the benchmark."""

    cutoff: date | None  # editions before this day were due; None: retention is off (0 days)
    dry_run: bool = False
    editions: list[Pruned] = field(default_factory=list)
    seconds: float = 0.0
    finished: bool = True  # False: the time budget ran out; the next run goes on where this one stopped

    @property
    def rows(self) -> int:
        """Delivery rows deleted (or, in a dry run, to delete)."""
        return sum(pruned.rows for pruned in self.editions)


def due_editions(conn: Connection, *, now: datetime, days: int) -> list[tuple[int, str, date]]:
    """Finished editions older than `days` (by date and completion) not rolled up yet, and rolled-up ones with rows."""
    old_enough = and_(
        E.c.edition_date < now.date() - timedelta(days=days),
        E.c.send_status.in_(EditionStatus.finished),
        or_(E.c.completed_at.is_(None), E.c.completed_at < now - timedelta(days=days)),
    )
    has_rows = exists(select(D.c.id).where(D.c.edition_id == E.c.id))
    rolled = E.c.id.in_(rollup.rolled_up_ids())
    query = (
        select(E.c.id, MailingList.slug, E.c.edition_date)
        .join(MailingList, MailingList.id == E.c.list_id)
        .where(or_(and_(old_enough, ~rolled), and_(rolled, has_rows)))
        .order_by(E.c.edition_date, E.c.id)
    )
    return [(row.id, row.slug, row.edition_date) for row in conn.execute(query)]


def summarise(session: Session, edition_id: int, *, now: datetime) -> rollup.Rollup:
    """Count an edition's ledger rows into a roll-up: what figures_for and /metrics read once the rows are gone."""
    conn = session.connection()
    rows = conn.execute(
        select(
            D.c.status,
            D.c.failure_kind,
            reply_counts.reply_class().label("reply"),
            func.count(),
            func.min(D.c.sent_at),
            func.max(D.c.sent_at),
        )
        .where(D.c.edition_id == edition_id)
        .group_by(D.c.status, D.c.failure_kind, "reply")
    ).all()
    tally: dict[str, int] = defaultdict(int)
    kinds: dict[str, int] = defaultdict(int)
    replies: dict[str, int] = defaultdict(int)
    firsts, lasts = [], []
    for status, kind, reply, number, first, last in rows:
        tally[status] += number
        if status == DeliveryStatus.failed:
            kinds[kind or "unknown"] += number
        if reply is not None:
            replies[reply] += number
        firsts += [first] if first is not None else []
        lasts += [last] if last is not None else []
    reports = bounce_store.per_edition(session, [edition_id])[edition_id]
    return rollup.Rollup(
        edition_id=edition_id,
        planned=sum(tally.values()),
        sent=tally[DeliveryStatus.sent],
        failed=tally[DeliveryStatus.failed],
        skipped=tally[DeliveryStatus.skipped],
        cancelled=tally[DeliveryStatus.cancelled],
        bounced=reports["bounced"],
        complained=reports["complained"],
        rolled_up_at=now,
        failed_by_kind=dict(kinds),
        replies=dict(replies),
        first_sent_at=min(firsts) if firsts else None,
        last_sent_at=max(lasts) if lasts else None,
    )


def roll_up(engine: Engine, edition_id: int, *, now: datetime) -> bool:
    """Write the edition's roll-up if it is still finished (edition row locked: a "retry failed" waits or is refused).

    True when this call wrote it; False when it existed already or the edition is open again.
    """
    with Session(engine) as session, session.begin():
        conn = session.connection()
        edition = lock_edition(conn, edition_id)
        if edition is None or edition.send_status not in EditionStatus.finished or rollup.exists_for(conn, edition_id):
            return False
        if ledger_status.has_open(conn, edition_id):
            return False
        return rollup.write(conn, summarise(session, edition_id, now=now))


def delete_rows(engine: Engine, edition_id: int, *, batch_size: int, deadline: float | None = None) -> tuple[int, bool]:
    """Delete a rolled-up edition's rows by primary-key ranges, one transaction each; (rows deleted, all gone)."""
    with engine.connect() as conn:
        low, high = conn.execute(select(func.min(D.c.id), func.max(D.c.id)).where(D.c.edition_id == edition_id)).one()
    deleted = 0
    if low is None:
        return 0, True
    for start in range(low, high + 1, batch_size):
        if deadline is not None and time.monotonic() > deadline:
            return deleted, False
        with engine.begin() as conn:  # bounces.delivery_id goes NULL with its row (ON DELETE SET NULL)
            deleted += conn.execute(
                delete(D).where(D.c.edition_id == edition_id, D.c.id >= start, D.c.id < start + batch_size)
            ).rowcount
    return deleted, True


def prune(
    engine: Engine,
    *,
    now: datetime,
    retention_days: int,
    batch_size: int,
    dry_run: bool = False,
    max_seconds: float | None = None,
) -> PruneReport:
    """Roll up and delete the ledger rows of every finished edition older than the window (0 days: keep all)."""
    started = time.monotonic()
    if retention_days <= 0:
        return PruneReport(cutoff=None, dry_run=dry_run)
    report = PruneReport(cutoff=now.date() - timedelta(days=retention_days), dry_run=dry_run)
    deadline = started + max_seconds if max_seconds is not None else None
    with engine.connect() as conn:
        due = due_editions(conn, now=now, days=retention_days)
        if dry_run:
            report.editions = [
                Pruned(edition_id, slug, day, ledger_status.row_count(conn, edition_id), False)
                for edition_id, slug, day in due
            ]
            report.seconds = time.monotonic() - started
            return report
    for edition_id, slug, day in due:
        wrote = roll_up(engine, edition_id, now=now)
        with engine.connect() as conn:
            if not wrote and not rollup.exists_for(conn, edition_id):
                continue  # opened again since it was listed (a "retry failed"): not finished after all
        rows, report.finished = delete_rows(engine, edition_id, batch_size=batch_size, deadline=deadline)
        report.editions.append(Pruned(edition_id, slug, day, rows, wrote))
        log.info("ledger: edition %s (%s, %s) rolled up, %d delivery rows deleted", edition_id, slug, day, rows)
        if not report.finished:
            break
    report.seconds = time.monotonic() - started
    return report
