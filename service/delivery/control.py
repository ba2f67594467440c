"""An edition's sending life: start (plan the audience once), pause, resume, cancel, sweep, complete."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.engine import Connection, Engine

from service.bounces.policy import NEVER_RETRIED, FailureKind
from service.core.config import Settings
from service.core.errors import InvalidInput
from service.delivery import ledger, ledger_status, planning, reply_counts, rollup
from service.delivery.edition_lock import lock_edition
from service.editions import send_moment
from service.models import Delivery, Edition, EditionStatus, MailingList, as_utc, utcnow

E = cast(Table, Edition.__table__)  # typed FromClause; a model with __tablename__ maps a Table


def start(
    engine: Engine,
    *,
    settings: Settings,
    edition: Edition,
    mailing_list: MailingList,
    now: datetime,
    immediately: bool = False,
) -> int | None:
    """Fix the audience and open the edition for sending; exactly once, however many callers race.

    The conditional update and the planning share one transaction: either every row is planned
    and the edition is sending, or nothing happened and the next dispatch tries again. It freezes a
    draft: an editor's save after it finds the edition no longer a draft and changes nothing.
    """

    def send_at(zone_name: str) -> datetime:
        """Each reader's not_before."""
        if mailing_list.local_time_delivery and not immediately:
            return send_moment(mailing_list, edition.edition_date, zone_name)
        return now

    with engine.begin() as conn:
        opened = conn.execute(
            update(E)
            .where(E.c.id == edition.id, E.c.send_status == EditionStatus.draft)
            .values(send_status=EditionStatus.sending, send_started_at=now, frozen_at=func.coalesce(E.c.frozen_at, now))
        )  # the draft's content is final
        if opened.rowcount != 1:
            return None
        planned = planning.plan(conn, edition_id=edition.id, list_id=mailing_list.id, now=now, send_at=send_at)
        last_due = conn.scalar(select(func.max(Delivery.not_before)).where(Delivery.edition_id == edition.id))
        expires = max(now, as_utc(last_due) if last_due else now) + timedelta(hours=settings.send_expiry_hours)
        conn.execute(update(E).where(E.c.id == edition.id).values(send_expires_at=expires))
    return planned


def set_paused(engine: Engine, edition_id: int, paused: bool) -> bool:
    """Pause stops workers before their next batch; resume lets them go on. False if not applicable."""
    if not paused:
        return resume(engine, edition_id, now=utcnow()) is not None
    with engine.begin() as conn:
        return (
            conn.execute(
                update(E)
                .where(E.c.id == edition_id, E.c.send_status == EditionStatus.sending)
                .values(send_status=EditionStatus.paused)
            ).rowcount
            == 1
        )


def pause_for_refusals(conn: Connection, edition_id: int, reason: str) -> bool:
    """The service's own pause, with its reason (in the caller's transaction); False if it was not sending."""
    return (
        conn.execute(
            update(E)
            .where(E.c.id == edition_id, E.c.send_status == EditionStatus.sending)
            .values(send_status=EditionStatus.paused, pause_reason=reason[:500])
        ).rowcount
        == 1
    )


def resume(engine: Engine, edition_id: int, *, now: datetime) -> int | None:
    """Let workers go on; None if it was not paused. Returns how many refused readers are tried again.

    After a pause for refusals (its reason is set), the readers refused for our setup (5.7.x) go back to
    pending with the rest: the cause was fixed, or they are refused again and the edition pauses again.
    """
    with engine.begin() as conn:
        found = conn.execute(
            select(E.c.pause_reason).where(E.c.id == edition_id, E.c.send_status == EditionStatus.paused)
        ).first()
        opened = (
            found is not None
            and conn.execute(
                update(E)
                .where(E.c.id == edition_id, E.c.send_status == EditionStatus.paused)
                .values(send_status=EditionStatus.sending, pause_reason=None)
            ).rowcount
            == 1
        )
        if not opened or found is None:
            return None
        if found.pause_reason is None:
            return 0
        return ledger.reopen_failed(conn, edition_id=edition_id, keep_failed=(), only=FailureKind.policy.value, now=now)


def cancel(engine: Engine, edition_id: int) -> int:
    """Stop an edition for good: its pending rows are cancelled now, rows in flight that come back by the next sweep."""
    with engine.begin() as conn:
        edition = lock_edition(conn, edition_id)  # vs the last drain completing it in the meantime
        status = None if edition is None else edition.send_status
        if status not in (EditionStatus.sending, EditionStatus.paused, EditionStatus.draft):
            raise InvalidInput(
                f"edition {edition_id} is {status}; only a draft, sending or paused edition can be cancelled"
            )
        conn.execute(update(E).where(E.c.id == edition_id).values(send_status=EditionStatus.cancelled))
        return ledger.cancel_pending(conn, editions=edition_id)


def retry_failed(engine: Engine, edition_id: int, *, now: datetime, expiry: timedelta) -> int:
    """Give an edition's failed readers another chance (a fixed relay, a lifted block); returns how many."""
    with engine.begin() as conn:
        return reopen_failed(conn, edition_id, now=now, expiry=expiry)


def reopen_failed(conn: Connection, edition_id: int, *, now: datetime, expiry: timedelta) -> int:
    """Retry's one transaction: the edition row locked first, its failed rows pending again, the edition sending."""
    edition = lock_edition(conn, edition_id)  # vs a prune, and the last drain completing it
    status = None if edition is None else edition.send_status
    if status not in (EditionStatus.sending, EditionStatus.paused, EditionStatus.complete):
        raise InvalidInput(f"edition {edition_id} is {status}; only a started edition has failures to retry")
    if rollup.exists_for(conn, edition_id):
        raise InvalidInput(
            f"edition {edition_id} is older than DELIVERY_RETENTION_DAYS: its delivery rows were "
            "rolled up into figures, so there are no failed readers left to retry"
        )
    reopened = ledger.reopen_failed(conn, edition_id=edition_id, keep_failed=NEVER_RETRIED, now=now)
    if reopened:
        reopen: dict[str, object] = {"send_expires_at": now + expiry}
        if status == EditionStatus.complete:
            reopen |= {"send_status": EditionStatus.sending, "completed_at": None}
        conn.execute(update(E).where(E.c.id == edition_id).values(**reopen))
    return reopened


def status_of(conn: Connection, edition_id: int) -> str | None:
    """The edition's send status, read fresh (workers check it before every batch)."""
    return conn.scalar(select(E.c.send_status).where(E.c.id == edition_id))


def complete_if_done(conn: Connection, edition_id: int, now: datetime) -> bool:
    """Mark the edition complete when no row is pending or sending; the caller holds lock_edition's lock.

    Under that lock a retry reopening rows cannot slip in between (PostgreSQL's next statement sees what it
    reopened), and the check and the change are one statement (SQLite writes one at a time).
    """
    done = conn.execute(
        update(E)
        .where(E.c.id == edition_id, E.c.send_status == EditionStatus.sending, ~ledger_status.open_work(edition_id))
        .values(send_status=EditionStatus.complete, completed_at=now)
    )
    return done.rowcount == 1


def finish_if_done(engine: Engine, edition_id: int, *, now: datetime) -> bool:
    """A drain that finds no batch marks the edition complete if nothing is left, in a transaction of its own."""
    with engine.connect() as conn:
        if ledger_status.has_open(conn, edition_id):
            return False  # no lock while work is left: whoever records the last row calls this again, or the sweeper
    with engine.begin() as conn:
        lock_edition(conn, edition_id)
        return complete_if_done(conn, edition_id, now)


def take_back(engine: Engine, *, now: datetime, edition_id: int | None = None) -> int:
    """Rows of workers that stopped mid-batch become pending again (the sweeper's step, taken by workers too)."""
    with engine.begin() as conn:  # the lease goes and its rows come back together, or neither
        return ledger.take_back_expired(conn, now=now, edition_id=edition_id)


def to_resume(engine: Engine, *, now: datetime) -> list[int]:
    """What a worker that starts picks up: expired leases taken back, then every sending edition with open rows."""
    take_back(engine, now=now)
    with engine.connect() as conn:
        sending = conn.scalars(select(E.c.id).where(E.c.send_status == EditionStatus.sending)).all()
        return [edition_id for edition_id in sending if ledger_status.has_open(conn, edition_id)]


@dataclass
class Sweep:
    """What one sweep did: the numbers ops want in the logs."""

    taken_back: int = 0
    cancelled: int = 0  # rows a cancelled edition's last batch gave back (a 4xx, an SMTP outage, a stopped worker)
    expired: int = 0
    completed: list[int] = field(default_factory=list)
    to_drain: list[int] = field(default_factory=list)
    counted: list[int] = field(default_factory=list)  # finished editions whose reply classes were counted once


def sweep(engine: Engine, *, now: datetime) -> Sweep:
    """Return stopped workers' rows, cancel what came back to cancelled editions, expire, complete, count, re-drain.

    Each sending edition is settled in a short transaction of its own, under its lock, so drains wait on the
    sweep for one edition at most. Counting: a finished edition's reply classes are stored once, so /metrics
    never reads its rows again.
    """
    result = Sweep()
    with engine.begin() as conn:
        result.taken_back = ledger.take_back_expired(conn, now=now)
        cancelled = select(E.c.id).where(E.c.send_status == EditionStatus.cancelled)
        result.cancelled = ledger.cancel_pending(conn, editions=cancelled)  # what came back since the cancel
    with engine.connect() as conn:
        sending = conn.scalars(select(E.c.id).where(E.c.send_status == EditionStatus.sending).order_by(E.c.id)).all()
    for edition_id in sending:
        with engine.begin() as conn:
            edition = lock_edition(conn, edition_id)  # read again: a retry may have reopened it with a later expiry
            if edition is None or edition.send_status != EditionStatus.sending:
                continue
            if edition.send_expires_at is not None and as_utc(edition.send_expires_at) < now:
                result.expired += ledger.expire_open(conn, edition_id=edition_id, now=now)
            if complete_if_done(conn, edition_id, now):
                result.completed.append(edition_id)
            elif ledger_status.has_due(conn, edition_id, now) and not ledger_status.has_live_lease(
                conn, edition_id, now
            ):
                result.to_drain.append(edition_id)
    result.counted = reply_counts.count_finished(engine, now=now)  # so /metrics reads no finished edition's rows
    return result


def statuses(conn: Connection, limit: int = 20) -> list[dict]:
    """The latest editions with their ledger counts, for `newsletter editions status`."""
    rows = conn.execute(
        select(E.c.id, E.c.edition_date, E.c.send_status, E.c.send_started_at, E.c.completed_at, MailingList.slug)
        .join(MailingList, MailingList.id == E.c.list_id)
        .order_by(E.c.edition_date.desc(), E.c.id.desc())
        .limit(limit)
    ).all()
    counts = ledger_status.counts(conn, [row.id for row in rows])
    for edition_id, summary in rollup.for_editions(conn, [row.id for row in rows]).items():  # pruned rows
        counts[edition_id] = {
            name: number
            for name, number in (
                ("sent", summary.sent),
                ("failed", summary.failed),
                ("skipped", summary.skipped),
                ("cancelled", summary.cancelled),
                ("policy", summary.failed_by_kind.get("policy", 0)),
            )
            if number
        }
    return [
        {
            **row._asdict(),
            "counts": counts[row.id],
            "planned": sum(n for status, n in counts[row.id].items() if status != "policy"),
        }
        for row in rows
    ]
