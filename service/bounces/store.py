"""The bounces table's SQL: store a report, find its delivery, and count bounces for people and /metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from service.bounces.models import Bounce
from service.bounces.policy import BounceKind
from service.models import Delivery, Edition, Subscriber, as_utc

BOUNCED = (BounceKind.hard.value, BounceKind.soft.value, BounceKind.policy.value)


@dataclass(frozen=True)
class BounceRow:
    """One stored bounce as people see it."""

    id: int
    received_at: datetime
    kind: str
    status: str | None
    diagnostic: str | None
    matched_by: str
    source: str
    delivery_id: int | None
    subscriber_id: int | None
    edition_id: int | None
    review: str | None = None  # why it was held and not applied; None when it was applied


@dataclass(frozen=True)
class Match:
    """Who a report is about, and how we know."""

    matched_by: str = "none"
    delivery_id: int | None = None
    subscriber_id: int | None = None
    edition_id: int | None = None
    email: str | None = None


def seen(session: Session, message_sha256: str) -> bool:
    """Whether this exact report was taken in already (an IMAP poll or an MTA pipe retried)."""
    return session.scalar(select(Bounce.id).where(Bounce.message_sha256 == message_sha256).limit(1)) is not None


def add(session: Session, **values) -> int:
    """Store one bounce row; returns its id."""
    return int(session.execute(insert(Bounce).values(**values).returning(Bounce.id)).scalar_one())


def by_delivery(session: Session, delivery_id: int) -> Match | None:
    """The delivery a bulk VERP token names."""
    row = session.execute(
        select(Delivery.id, Delivery.subscriber_id, Delivery.edition_id, Subscriber.email)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id, isouter=True)
        .where(Delivery.id == delivery_id)
    ).first()
    return Match("verp", row.id, row.subscriber_id, row.edition_id, row.email) if row else None


def by_subscriber(session: Session, subscriber_id: int) -> Match | None:
    """The reader a transactional VERP token names."""
    email = session.scalar(select(Subscriber.email).where(Subscriber.id == subscriber_id))
    return Match("verp", None, subscriber_id, None, email) if email else None


def by_message_id(session: Session, message_id: str, *, edition_id: int, subscriber_id: int) -> Match | None:
    """The reader a signed Message-ID of ours names, with its delivery while the ledger keeps it."""
    email = session.scalar(select(Subscriber.email).where(Subscriber.id == subscriber_id))
    if email is None:
        return None
    delivery_id = session.scalar(
        select(Delivery.id).where(Delivery.message_id == message_id, Delivery.subscriber_id == subscriber_id).limit(1)
    )
    edition = session.scalar(select(Edition.id).where(Edition.id == edition_id))  # None once the edition is deleted
    return Match("message-id", delivery_id, subscriber_id, edition, email)


def soft_days(session: Session, recipient_hash: str, *, since: datetime) -> list[date]:
    """The days with a soft bounce for an address, for the decaying score."""
    rows = session.scalars(
        select(Bounce.received_at).where(
            Bounce.recipient_hash == recipient_hash,
            Bounce.kind == BounceKind.soft.value,
            Bounce.review.is_(None),
            Bounce.received_at >= since,
        )
    )
    return [as_utc(moment).date() for moment in rows]


def _row(bounce: Bounce) -> BounceRow:
    """The plain record of a row."""
    return BounceRow(
        bounce.id,
        as_utc(bounce.received_at),
        bounce.kind,
        bounce.status,
        bounce.diagnostic,
        bounce.matched_by,
        bounce.source,
        bounce.delivery_id,
        bounce.subscriber_id,
        bounce.edition_id,
        bounce.review,
    )


def recent(session: Session, *, limit: int = 50) -> list[BounceRow]:
    """The latest bounces, newest first (`newsletter bounces list`)."""
    return [_row(b) for b in session.scalars(select(Bounce).order_by(Bounce.id.desc()).limit(limit))]


@dataclass(frozen=True)
class HeldPage:
    """One page of held reports; next_before is the `before` of the next page (None: the last page)."""

    rows: list[BounceRow]
    next_before: int | None


def held(session: Session, *, before: int | None = None, limit: int = 50) -> HeldPage:
    """Reports held for review (not proven for any reader, or unreadable), newest first, in keyset pages."""
    query = select(Bounce).where(Bounce.review.is_not(None))
    if before is not None:
        query = query.where(Bounce.id < before)
    rows = [_row(b) for b in session.scalars(query.order_by(Bounce.id.desc()).limit(limit + 1))]
    return HeldPage(rows[:limit], rows[limit - 1].id if len(rows) > limit else None)


def held_one(session: Session, bounce_id: int) -> tuple[BounceRow, str | None] | None:
    """One held report and its kept text, for a person to read; None for an applied or unknown one."""
    bounce = session.scalar(select(Bounce).where(Bounce.id == bounce_id, Bounce.review.is_not(None)))
    return (_row(bounce), bounce.raw) if bounce is not None else None


def held_totals(session: Session) -> dict[str, int]:
    """Reports held for review, per reason (the /metrics counter)."""
    rows = session.execute(
        select(Bounce.review, func.count()).where(Bounce.review.is_not(None)).group_by(Bounce.review)
    )
    return {str(reason): int(number) for reason, number in rows}


def for_subscriber(session: Session, subscriber_id: int, recipient_hash: str, *, limit: int = 100) -> list[BounceRow]:
    """A reader's applied bounces, by link or by address hash, newest first (held ones may be forgeries)."""
    query = (
        select(Bounce)
        .where(
            (Bounce.subscriber_id == subscriber_id) | (Bounce.recipient_hash == recipient_hash), Bounce.review.is_(None)
        )
        .order_by(Bounce.id.desc())
        .limit(limit)
    )
    return [_row(b) for b in session.scalars(query)]


def per_edition(session: Session, edition_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per edition: readers bounced (hard, soft or policy) and readers who complained."""
    result: dict[int, dict[str, int]] = {edition_id: {"bounced": 0, "complained": 0} for edition_id in edition_ids}
    if not edition_ids:
        return result
    rows = session.execute(
        select(Bounce.edition_id, Bounce.kind, func.count(func.distinct(Bounce.recipient_hash)))
        .where(
            Bounce.edition_id.in_(list(edition_ids)),
            Bounce.review.is_(None),
            Bounce.kind.in_([*BOUNCED, BounceKind.complaint.value]),
        )
        .group_by(Bounce.edition_id, Bounce.kind)
    )
    for edition_id, kind, number in rows:
        if edition_id is None:
            continue
        result[edition_id]["complained" if kind == BounceKind.complaint.value else "bounced"] += number
    return result


@dataclass(frozen=True)
class Refusals:
    """Refusals of our sending setup (policy class) reported for one edition by one receiving domain."""

    edition_id: int | None
    domain: str
    count: int
    status: str | None  # the highest status seen, e.g. 5.7.26
    last_at: datetime


def policy_refusals(session: Session, *, since: datetime, limit: int = 50) -> list[Refusals]:
    """Proven policy-class bounces since a moment, per edition and receiving domain, most first (for ops)."""
    rows = session.execute(
        select(
            Bounce.edition_id,
            Bounce.recipient_domain,
            func.count(),
            func.max(Bounce.status),
            func.max(Bounce.received_at),
        )
        .where(Bounce.kind == BounceKind.policy.value, Bounce.review.is_(None), Bounce.received_at >= since)
        .group_by(Bounce.edition_id, Bounce.recipient_domain)
        .order_by(func.count().desc())
        .limit(limit)
    )
    return [
        Refusals(edition_id, domain or "?", int(count), status, as_utc(last))
        for edition_id, domain, count, status, last in rows
    ]


def totals(session: Session) -> dict[str, int]:
    """Bounces stored per kind, every kind present (the /metrics counter)."""
    found = dict(session.execute(select(Bounce.kind, func.count()).group_by(Bounce.kind)).all())
    return {kind.value: int(found.get(kind.value, 0)) for kind in BounceKind}


def forget(session: Session, *, subscriber_id: int, recipient_hash: str) -> int:
    """Erasure: keep a reader's bounces as counts only (kind, status, edition), without text that names them."""
    statement = (
        update(Bounce)
        .where(or_(Bounce.subscriber_id == subscriber_id, Bounce.recipient_hash == recipient_hash))
        .values(subscriber_id=None, diagnostic=None, raw=None)
    )
    return int(getattr(session.execute(statement), "rowcount", 0))


def policy_refused(conn: Connection | Session, first: int, last: int) -> dict[int, tuple[str | None, str]]:
    """Deliveries `first`..`last` that a later report refused for our setup (5.7.x): delivery -> (status, diagnostic).

    A range, not a list of ids: the refusal window asks this after every batch with a refusal (one index range).
    """
    rows = conn.execute(
        select(Bounce.delivery_id, Bounce.status, Bounce.diagnostic).where(
            Bounce.delivery_id.between(first, last), Bounce.kind == BounceKind.policy.value
        )
    )
    return {row.delivery_id: (row.status, row.diagnostic or "") for row in rows}
