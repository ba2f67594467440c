"""Edition figures from the delivery ledger: counts, rates, ETA and SMTP reply classes. SQL lives here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, case, func, or_, select
from sqlalchemy.orm import Session

from service.bounces import store as bounce_store
from service.delivery import ledger_status, reply_counts, rollup
from service.models import (
    Delivery,
    DeliveryStatus,
    Edition,
    EditionStatus,
    MailingList,
    Subscription,
    as_utc,
    utcnow,
)

D = cast(Table, Delivery.__table__)
RATE_WINDOW = timedelta(minutes=5)  # "sent per minute" looks this far back while an edition is sending


@dataclass(frozen=True)
class EditionFigures:
    """One edition's ledger in numbers: what the dashboard, `newsletter status` and /metrics show."""

    edition_id: int
    list_slug: str
    edition_date: date
    send_status: str
    planned: int = 0
    sent: int = 0
    failed: int = 0
    failed_by_kind: dict[str, int] = field(default_factory=dict)
    retrying: int = 0  # open rows that were tried before (a 4xx or a dropped connection)
    pending: int = 0
    sending: int = 0
    skipped: int = 0
    cancelled: int = 0
    unsubscribed_since: int = 0  # the list's readers who left since this edition started sending
    bounced: int = 0  # readers whose message bounced later (a DSN or other report: hard, soft or policy)
    complained: int = 0  # readers who reported it as spam (ARF)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    rate_per_minute: float | None = None
    eta: datetime | None = None
    pause_reason: str | None = None  # the service paused it: receivers refuse our setup (service.delivery.refusals)

    @property
    def done(self) -> int:
        """Rows that reached a final state."""
        return self.sent + self.failed + self.skipped + self.cancelled

    @property
    def progress(self) -> float:
        """How far along the edition is, 0..1 of planned."""
        return self.done / self.planned if self.planned else 0.0

    @property
    def sent_rate(self) -> float:
        """Share of planned readers who got it."""
        return self.sent / self.planned if self.planned else 0.0

    @property
    def failure_rate(self) -> float:
        """Share of planned readers it finally failed for."""
        return self.failed / self.planned if self.planned else 0.0

    @property
    def unsubscribe_rate(self) -> float:
        """Readers lost since the send, as a share of planned."""
        return self.unsubscribed_since / self.planned if self.planned else 0.0


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives naive UTC datetimes back."""
    return as_utc(moment) if moment is not None else None


def figures_for(
    session: Session, edition_ids: Sequence[int], *, now: datetime | None = None
) -> dict[int, EditionFigures]:
    """Figures of several editions from one grouped ledger query (plus one for recent sends, one for leavers)."""
    ids = list(dict.fromkeys(edition_ids))
    if not ids:
        return {}
    now = now or utcnow()
    editions = session.execute(
        select(
            Edition.id,
            Edition.list_id,
            Edition.edition_date,
            Edition.send_status,
            Edition.send_started_at,
            Edition.completed_at,
            Edition.pause_reason,
            MailingList.slug,
        )
        .join(MailingList, MailingList.id == Edition.list_id)
        .where(Edition.id.in_(ids))
    ).all()
    rollups = rollup.for_editions(session.connection(), ids)
    live = [edition_id for edition_id in ids if edition_id not in rollups]  # a roll-up wins over rows left
    tried_before = case(
        (
            or_(
                and_(D.c.status == DeliveryStatus.pending, D.c.attempts > 0),
                and_(D.c.status == DeliveryStatus.sending, D.c.attempts > 1),
            ),
            1,
        ),
        else_=0,
    )
    grouped = session.execute(
        select(D.c.edition_id, D.c.status, D.c.failure_kind, tried_before.label("retried"), func.count())
        .where(D.c.edition_id.in_(live))
        .group_by(D.c.edition_id, D.c.status, D.c.failure_kind, tried_before)
    ).all()
    recent: dict[int, int] = dict(
        session.execute(
            select(D.c.edition_id, func.count())
            .where(D.c.edition_id.in_(live), D.c.status == DeliveryStatus.sent, D.c.sent_at >= now - RATE_WINDOW)
            .group_by(D.c.edition_id)
        ).all()
    )
    leavers: dict[int, int] = dict(
        session.execute(
            select(Edition.id, func.count(Subscription.id))
            .join(Subscription, Subscription.list_id == Edition.list_id)
            .where(
                Edition.id.in_(ids),
                Edition.send_started_at.is_not(None),
                Subscription.unsubscribed_at >= Edition.send_started_at,
            )
            .group_by(Edition.id)
        ).all()
    )
    reports = bounce_store.per_edition(session, ids)
    tallies: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    kinds: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for edition_id, summary in rollups.items():
        tallies[edition_id].update(
            {
                DeliveryStatus.sent: summary.sent,
                DeliveryStatus.failed: summary.failed,
                DeliveryStatus.skipped: summary.skipped,
                DeliveryStatus.cancelled: summary.cancelled,
            }
        )
        kinds[edition_id].update(summary.failed_by_kind)
    for edition_id, status, kind, retried, number in grouped:
        tallies[edition_id][status] += number
        tallies[edition_id]["retrying"] += number if retried else 0
        if status == DeliveryStatus.failed:
            kinds[edition_id][kind or "unknown"] += number
    result = {}
    for row in editions:
        tally = tallies[row.id]
        started, completed = _aware(row.send_started_at), _aware(row.completed_at)
        planned = sum(n for status, n in tally.items() if status != "retrying")
        open_rows = tally[DeliveryStatus.pending] + tally[DeliveryStatus.sending]
        rate = _rate(tally[DeliveryStatus.sent], recent.get(row.id, 0), started, completed, now)
        eta = None
        if row.send_status == EditionStatus.sending and open_rows and rate:
            eta = now + timedelta(minutes=open_rows / rate)
        result[row.id] = EditionFigures(
            edition_id=row.id,
            list_slug=row.slug,
            edition_date=row.edition_date,
            send_status=row.send_status,
            planned=planned,
            sent=tally[DeliveryStatus.sent],
            failed=tally[DeliveryStatus.failed],
            failed_by_kind=dict(kinds[row.id]),
            retrying=tally["retrying"],
            pending=tally[DeliveryStatus.pending],
            sending=tally[DeliveryStatus.sending],
            skipped=tally[DeliveryStatus.skipped],
            cancelled=tally[DeliveryStatus.cancelled],
            unsubscribed_since=leavers.get(row.id, 0),
            bounced=reports[row.id]["bounced"],
            complained=reports[row.id]["complained"],
            started_at=started,
            completed_at=completed,
            rate_per_minute=rate,
            eta=eta,
            pause_reason=row.pause_reason if row.send_status == EditionStatus.paused else None,
        )
    return result


def _rate(sent: int, recent: int, started: datetime | None, completed: datetime | None, now: datetime) -> float | None:
    """Sends per minute: over the last few minutes while sending, else over the whole send."""
    if started is None or not sent:
        return None
    if recent and completed is None:
        return recent / min(RATE_WINDOW, max(now - started, timedelta(seconds=1))).total_seconds() * 60
    minutes = max(((completed or now) - started).total_seconds(), 1.0) / 60
    return sent / minutes


def edition_figures(session: Session, edition_id: int, *, now: datetime | None = None) -> EditionFigures:
    """One edition's figures; LookupError when there is no such edition."""
    found = figures_for(session, [edition_id], now=now)
    if edition_id not in found:
        raise LookupError(f"edition {edition_id} does not exist")
    return found[edition_id]


def active_editions(session: Session, *, now: datetime, days: int = 2) -> list[EditionFigures]:
    """Editions being sent or paused, and those of today (in each list's zone) up to `days` ahead."""
    today = now.date()
    rows = session.execute(
        select(Edition.id, Edition.edition_date, Edition.send_status, MailingList.timezone)
        .join(MailingList, MailingList.id == Edition.list_id)
        .where(
            or_(
                Edition.send_status.in_([EditionStatus.sending, EditionStatus.paused]),
                Edition.edition_date.between(today - timedelta(days=1), today + timedelta(days=days)),
            )
        )
        .order_by(Edition.edition_date, Edition.id)
    ).all()
    wanted = [
        row.id
        for row in rows
        if row.send_status in (EditionStatus.sending, EditionStatus.paused)
        or row.edition_date >= now.astimezone(ZoneInfo(row.timezone)).date()
    ]
    found = figures_for(session, wanted, now=now)
    return [found[edition_id] for edition_id in wanted if edition_id in found]


def stuck_leases(session: Session, *, now: datetime) -> int:
    """Rows still `sending` whose lease ran out: a worker died mid-batch and the sweeper has not run since."""
    return ledger_status.stuck(session.connection(), now=now)


def smtp_reply_classes(session: Session) -> dict[str, int]:
    """Tried ledger rows by the class of their last SMTP reply (none: failed without one): /metrics' reply counter.

    Only the rows of editions still open are read; finished editions were counted once by the sweeper
    (reply_counts), pruned ones at their roll-up. A cumulative counter: pruning rows must not lower it.
    """
    conn = session.connection()
    counted, counted_ids = reply_counts.counted_totals(conn)
    open_ids = [
        edition_id
        for edition_id in conn.scalars(
            select(Edition.id).where(
                Edition.id.not_in(rollup.rolled_up_ids()), Edition.send_status != EditionStatus.draft
            )
        )
        if edition_id not in counted_ids
    ]
    live = reply_counts.count_rows(conn, open_ids)
    rolled = rollup.reply_totals(conn)
    return {name: live[name] + counted[name] + rolled[name] for name in rollup.REPLY_CLASSES}
