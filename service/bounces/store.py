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
from service.models import Delivery, Subscriber, as_utc

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
    row = session.execute(select(Delivery.id, Delivery.subscriber_id, Delivery.edition_id, Subscriber.email)
                          .join(Subscriber, Subscriber.id == Delivery.subscriber_id, isouter=True)
                          .where(Delivery.id == delivery_id)).first()
    return Match("verp", row.id, row.subscriber_id, row.edition_id, row.email) if row else None


def by_subscriber(session: Session, subscriber_id: int) -> Match | None:
    """The reader a transactional VERP token names."""
    email = session.scalar(select(Subscriber.email).where(Subscriber.id == subscriber_id))
    return Match("verp", None, subscriber_id, None, email) if email else None


def by_message_id(session: Session, message_id: str) -> Match | None:
    """The delivery whose Message-ID the report quotes (a complaint's original message)."""
    row = session.execute(select(Delivery.id, Delivery.subscriber_id, Delivery.edition_id, Subscriber.email)
                          .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
                          .where(Delivery.message_id == message_id).limit(1)).first()
    return Match("message-id", row.id, row.subscriber_id, row.edition_id, row.email) if row else None


def by_subscriber_email(session: Session, subscriber_id: int, email: str) -> Match:
    """A reader found by address: their latest sent delivery is the likeliest one to have bounced."""
    row = session.execute(select(Delivery.id, Delivery.edition_id).where(Delivery.subscriber_id == subscriber_id,
                                                                          Delivery.sent_at.is_not(None))
                          .order_by(Delivery.sent_at.desc()).limit(1)).first()
    return Match("recipient", row.id if row else None, subscriber_id, row.edition_id if row else None, email)


def soft_days(session: Session, recipient_hash: str, *, since: datetime) -> list[date]:
    """The days with a soft bounce for an address, for the decaying score."""
    rows = session.scalars(select(Bounce.received_at).where(Bounce.recipient_hash == recipient_hash,
                                                            Bounce.kind == BounceKind.soft.value,
                                                            Bounce.received_at >= since))
    return [as_utc(moment).date() for moment in rows]


def _row(bounce: Bounce) -> BounceRow:
    """The plain record of a row."""
    return BounceRow(bounce.id, as_utc(bounce.received_at), bounce.kind, bounce.status, bounce.diagnostic,
                     bounce.matched_by, bounce.source, bounce.delivery_id, bounce.subscriber_id, bounce.edition_id)


def recent(session: Session, *, limit: int = 50) -> list[BounceRow]:
    """The latest bounces, newest first (`newsletter bounces list`)."""
    return [_row(b) for b in session.scalars(select(Bounce).order_by(Bounce.id.desc()).limit(limit))]


def for_subscriber(session: Session, subscriber_id: int, recipient_hash: str, *, limit: int = 100) -> list[BounceRow]:
    """A reader's bounces, by link or by address hash, newest first."""
    query = (select(Bounce).where((Bounce.subscriber_id == subscriber_id) | (Bounce.recipient_hash == recipient_hash))
             .order_by(Bounce.id.desc()).limit(limit))
    return [_row(b) for b in session.scalars(query)]


def per_edition(session: Session, edition_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Per edition: readers bounced (hard, soft or policy) and readers who complained."""
    result: dict[int, dict[str, int]] = {edition_id: {"bounced": 0, "complained": 0} for edition_id in edition_ids}
    if not edition_ids:
        return result
    rows = session.execute(select(Bounce.edition_id, Bounce.kind, func.count(func.distinct(Bounce.recipient_hash)))
                           .where(Bounce.edition_id.in_(list(edition_ids)),
                                  Bounce.kind.in_([*BOUNCED, BounceKind.complaint.value]))
                           .group_by(Bounce.edition_id, Bounce.kind))
    for edition_id, kind, number in rows:
        if edition_id is None:
            continue
        result[edition_id]["complained" if kind == BounceKind.complaint.value else "bounced"] += number
    return result


def totals(session: Session) -> dict[str, int]:
    """Bounces stored per kind, every kind present (the /metrics counter)."""
    found = dict(session.execute(select(Bounce.kind, func.count()).group_by(Bounce.kind)).all())
    return {kind.value: int(found.get(kind.value, 0)) for kind in BounceKind}


def forget(session: Session, *, subscriber_id: int, recipient_hash: str) -> int:
    """Erasure: keep a reader's bounces as counts only (kind, status, edition), without text that names them."""
    statement = (update(Bounce).where(or_(Bounce.subscriber_id == subscriber_id,
                                          Bounce.recipient_hash == recipient_hash))
                 .values(subscriber_id=None, diagnostic=None, raw=None))
    return int(getattr(session.execute(statement), "rowcount", 0))


def policy_refused(conn: Connection | Session, first: int, last: int) -> dict[int, tuple[str | None, str]]:
    """Deliveries `first`..`last` that a later report refused for our setup (5.7.x): delivery -> (status, diagnostic).

    A range, not a list of ids: the refusal window asks this after every batch with a refusal (one index range).
    """
    rows = conn.execute(select(Bounce.delivery_id, Bounce.status, Bounce.diagnostic)
                        .where(Bounce.delivery_id.between(first, last), Bounce.kind == BounceKind.policy.value))
    return {row.delivery_id: (row.status, row.diagnostic or "") for row in rows}
