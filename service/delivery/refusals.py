"""Pause an edition when receivers say we are the problem: too many 5.7.x refusals in a row or in a window.

SPF, DKIM or DMARC breaking, or a spam block, makes receivers refuse every reader alike; sending on only
hurts the domain's reputation. The window is read from the ledger (each row keeps its SMTP reply; a later
5.7.x bounce counts against its row), so it holds across workers and hosts. A drain counts refusals in
memory and looks at the ledger every few refusals and once per batch with refusals: a message that is
accepted costs nothing. A bounce recorded against a delivery of an edition still sending is judged too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Select, Table, case, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from service.admin import audit
from service.bounces import store as bounce_store
from service.bounces.policy import BounceKind, FailureKind
from service.core.config import Settings
from service.core.db import session_scope
from service.delivery import control
from service.delivery.refusal_reason import Refusal, describe
from service.models import Delivery, DeliveryStatus, EditionStatus, Subscriber

log = logging.getLogger(__name__)
D = cast(Table, Delivery.__table__)
SYSTEM = "system"  # the audit log's actor for what the service does by itself
SCAN = 4  # the window reads back at most this many ledger rows per reply it wants (other editions, open rows)


@dataclass(frozen=True)
class Limits:
    """REFUSAL_PAUSE_*: `streak` refusals in a row, or more than `percent` % of the last `window` replies."""

    streak: int
    percent: float
    window: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The limits the settings set."""
        return cls(settings.refusal_pause_streak, settings.refusal_pause_percent, settings.refusal_pause_window)

    @property
    def allowed(self) -> int | None:
        """The most refusals the window may hold without a pause (None: the share rule is off)."""
        return int(self.window * self.percent / 100) if self.percent else None

    @property
    def enabled(self) -> bool:
        """Whether any rule is on."""
        return bool(self.streak or self.allowed is not None)

    @property
    def check_every(self) -> int:
        """Refusals a drain counts before it looks at the ledger mid-batch (a fifth of the smallest limit)."""
        smallest = min(n for n in (self.streak or None, (self.allowed or 0) + 1 if self.percent else None) if n)
        return max(1, smallest // 5)

    @property
    def reach(self) -> int:
        """How many of the latest replies a judgement reads."""
        return max(self.streak, self.window if self.percent else 0)


def judge(refused: list[bool], limits: Limits) -> tuple[int, bool] | None:
    """Newest first: (how many replies the reason covers, whether it is a streak), or None when within limits."""
    window = refused[: limits.window]
    if limits.allowed is not None and sum(window) > limits.allowed:
        return len(window), False
    run = next((n for n, flag in enumerate(refused) if not flag), len(refused))
    if limits.streak and run >= limits.streak:
        return run, True
    return None


def _window(edition_id: int, upto: int, limit: int, *columns) -> Select:
    """The edition's latest final replies up to ledger row `upto`, newest first.

    Claims go in id order, so this is the order replies came in; walking the primary key back over at most
    SCAN x limit rows costs the same at any size of edition.
    """
    return (
        select(*columns)
        .where(
            D.c.id <= upto,
            D.c.id > upto - SCAN * limit,
            D.c.edition_id == edition_id,
            D.c.status.in_([DeliveryStatus.sent, DeliveryStatus.failed]),
            D.c.smtp_code.is_not(None),
        )
        .order_by(D.c.id.desc())
        .limit(limit)
    )


def _tally(conn: Connection, edition_id: int, upto: int, limit: int) -> tuple[int, int | None, int | None]:
    """(refusals at send time, lowest and highest row) of the window, counted by the database: one row back."""
    window = _window(edition_id, upto, limit, D.c.id, D.c.failure_kind).subquery()
    refused = func.coalesce(func.sum(case((window.c.failure_kind == FailureKind.policy.value, 1), else_=0)), 0)
    row = conn.execute(select(refused, func.min(window.c.id), func.max(window.c.id))).one()
    return int(row[0]), row[1], row[2]


def _replies(conn: Connection, delivery_ids: list[int]) -> dict[int, tuple[str, str | None]]:
    """The SMTP reply and the reader's address of these ledger rows (read only once a pause is decided)."""
    rows = conn.execute(
        select(D.c.id, D.c.smtp_reply, Subscriber.email)
        .join(Subscriber, Subscriber.id == D.c.subscriber_id, isouter=True)
        .where(D.c.id.in_(delivery_ids))
    )
    return {row.id: (row.smtp_reply or "", row.email) for row in rows}


def over_limit(conn: Connection, edition_id: int, limits: Limits, *, upto: int) -> str | None:
    """The pause reason when the window up to ledger row `upto` is over a limit; None: carry on."""
    refused_now, first, last = _tally(conn, edition_id, upto, limits.reach)
    found = bounce_store.policy_refused(conn, first, last) if first is not None and last is not None else {}
    at_most = refused_now + len(found)  # the usual answer: too few refusals for any rule, nothing more to read
    if (not limits.streak or at_most < limits.streak) and (limits.allowed is None or at_most <= limits.allowed):
        return None
    rows = list(conn.execute(_window(edition_id, upto, limits.reach, D.c.id, D.c.status, D.c.failure_kind)))
    sent = {row.id for row in rows if row.status == DeliveryStatus.sent}
    bounced = {i: report for i, report in found.items() if i in sent}
    refused = [row.failure_kind == FailureKind.policy.value or row.id in bounced for row in rows]
    judged = judge(refused, limits)
    if judged is None:
        return None
    covered, streak = judged
    ids = [row.id for row, flag in zip(rows[:covered], refused, strict=False) if flag]
    replies = _replies(conn, ids)
    refusals = [
        Refusal(bounced[i][1], replies[i][1], bounced[i][0]) if i in bounced else Refusal(*replies[i])
        for i in ids
        if i in replies
    ]
    return describe(
        refusals,
        replies=covered,
        full=streak or covered >= limits.window,
        streak=streak,
        bounced=any(i in bounced for i in ids),
    )


def pause(session: Session, edition_id: int, reason: str) -> bool:
    """Pause the edition with its reason and write it to the audit log, in the caller's transaction."""
    if not control.pause_for_refusals(session.connection(), edition_id, reason):
        return False  # another worker paused it first, or an admin stopped it
    audit.record(
        session,
        actor=SYSTEM,
        action="edition.pause",
        object_type="edition",
        object_id=edition_id,
        details={"reason": reason, "automatic": True},
    )
    log.error("edition %s %s; fix the sending setup (SPF, DKIM, DMARC, reputation), then resume it", edition_id, reason)
    return True


class Watch:
    """One drain's eye on refusals: counted in memory, judged against the ledger every few and after each batch."""

    def __init__(self, settings: Settings, edition_id: int):
        self.settings, self.edition_id = settings, edition_id
        self.limits = Limits.of(settings)
        self.unchecked = 0  # refusals this drain recorded since it last looked at the ledger

    def refused(self, conn: Connection, *, upto: int, free: Callable[[], object]) -> bool:
        """Count one refusal; every few, judge the window (once `free` has freed the connection): True if paused."""
        self.unchecked += 1
        if not self.limits.enabled or self.unchecked < self.limits.check_every:
            return False
        free()
        return self.paused(conn, upto=upto)

    def batch_done(self, conn: Connection, *, upto: int, free: Callable[[], object]) -> None:
        """After a batch with refusals not judged yet, judge them with everyone's (the drain then sees the status)."""
        if self.unchecked:
            free()
            self.paused(conn, upto=upto)

    def paused(self, conn: Connection, *, upto: int) -> bool:
        """Judge the window up to ledger row `upto` and pause if it is over a limit; True once the edition is paused."""
        self.unchecked = 0
        if not self.limits.enabled:
            return False
        status = control.status_of(conn, self.edition_id)
        if status != EditionStatus.sending:
            return status == EditionStatus.paused  # paused by another worker or an admin: stop too
        reason = over_limit(conn, self.edition_id, self.limits, upto=upto)
        if reason is None:
            return False
        with session_scope(self.settings.effective_database_url) as session:
            pause(session, self.edition_id, reason)
        return True


def bounce_recorded(
    session: Session, settings: Settings, kind: str, edition_id: int | None, delivery_id: int | None
) -> None:
    """A 5.7.x bounce of a delivery counts in its edition's window while the edition still sends."""
    limits = Limits.of(settings)
    if kind != BounceKind.policy.value or edition_id is None or delivery_id is None or not limits.enabled:
        return
    if control.status_of(session.connection(), edition_id) != EditionStatus.sending:
        return  # a finished edition has nothing left to stop
    reason = over_limit(session.connection(), edition_id, limits, upto=delivery_id)
    if reason is not None:
        pause(session, edition_id, reason)
