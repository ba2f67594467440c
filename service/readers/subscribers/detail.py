"""One reader as an admin sees it: profile, consent record per list, delivery history and suppression."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from service.bounces.score import bounce_score_of
from service.bounces.store import BounceRow, for_subscriber
from service.core.addresses import address_hash
from service.core.errors import UnknownPage
from service.mail.suppressions import SuppressionRow, lookup
from service.models import Delivery, Edition, MailingList, Subscriber, Subscription, utcnow
from service.readers.subscribers.search import status_of
from service.readers.subscriptions.lookups import subscriber_by_email

DELIVERIES_SHOWN = 100


@dataclass(frozen=True)
class ConsentEventRow:
    """One step of a subscription's consent history."""

    action: str
    at: datetime
    ip: str | None
    user_agent: str | None
    source: str
    consent_text_version: str
    details: dict[str, Any]


@dataclass(frozen=True)
class SubscriptionDetail:
    """A reader's standing with one list and the consent record that makes sending lawful."""

    list_id: int
    list_slug: str
    list_name: str
    status: str  # unconfirmed, confirmed, paused or unsubscribed
    subscribed_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    ip: str | None
    user_agent: str | None
    source: str
    consent_text_version: str
    events: list[ConsentEventRow]


@dataclass(frozen=True)
class DeliveryRow:
    """One edition sent (or not) to the reader, with what the SMTP server said."""

    edition_id: int
    edition_date: date
    list_slug: str
    status: str
    smtp_code: int | None
    smtp_reply: str | None
    failure_kind: str | None
    sent_at: datetime | None


@dataclass(frozen=True)
class SuppressionInfo:
    """Whether the address may be mailed at all, and if not why and since when."""

    suppressed: bool
    reason: str | None
    since: datetime | None


@dataclass(frozen=True)
class SubscriberDetail:
    """Everything about one reader for the subscriber page."""

    id: int
    email: str
    name: str
    timezone: str
    paused_until: datetime | None
    created_at: datetime
    subscriptions: list[SubscriptionDetail]
    deliveries: list[DeliveryRow]  # newest first, the last DELIVERIES_SHOWN
    suppression: SuppressionInfo
    bounces: list[BounceRow] = field(default_factory=list)  # every bounce and complaint, newest first
    bounce_score: int = 0  # soft bounces (service.bounces.policy.soft_score); at the threshold: suppressed


def find_subscriber_by_email(session: Session, email: str) -> Subscriber | None:
    """A reader by any spelling of the address (an invalid address raises InvalidAddress)."""
    return subscriber_by_email(session, email)


def subscriber_detail(session: Session, subscriber_id: int, *, bounce_decay_days: int = 7) -> SubscriberDetail:
    """The reader's page, or UnknownPage for an id that names nobody (deleted, or never there)."""
    subscriber = session.scalar(
        select(Subscriber)
        .where(Subscriber.id == subscriber_id)
        .options(
            selectinload(Subscriber.subscriptions).selectinload(Subscription.consent_events),
            selectinload(Subscriber.subscriptions).selectinload(Subscription.mailing_list),
        )
    )
    if subscriber is None:
        raise UnknownPage(f"There is no subscriber {subscriber_id}.")
    now = utcnow()
    subscriptions = [
        SubscriptionDetail(
            list_id=s.list_id,
            list_slug=s.mailing_list.slug,
            list_name=s.mailing_list.name,
            status=status_of(s.status, subscriber.paused_until, now),
            subscribed_at=s.subscribed_at,
            confirmed_at=s.confirmed_at,
            unsubscribed_at=s.unsubscribed_at,
            ip=s.ip,
            user_agent=s.user_agent,
            source=s.source,
            consent_text_version=s.consent_text_version,
            events=[
                ConsentEventRow(
                    action=e.action,
                    at=e.at,
                    ip=e.ip,
                    user_agent=e.user_agent,
                    source=e.source,
                    consent_text_version=e.consent_text_version,
                    details=dict(e.details or {}),
                )
                for e in s.consent_events
            ],
        )
        for s in sorted(subscriber.subscriptions, key=lambda s: s.mailing_list.slug)
    ]
    found: SuppressionRow | None = lookup(session, subscriber.email)
    return SubscriberDetail(
        id=subscriber.id,
        email=subscriber.email,
        name=subscriber.name,
        timezone=subscriber.timezone,
        paused_until=subscriber.paused_until,
        created_at=subscriber.created_at,
        subscriptions=subscriptions,
        deliveries=delivery_history(session, subscriber.id),
        suppression=SuppressionInfo(
            suppressed=found is not None,
            reason=found.reason if found else None,
            since=found.created_at if found else None,
        ),
        bounces=for_subscriber(session, subscriber.id, address_hash(subscriber.email)),
        bounce_score=bounce_score_of(session, subscriber.email, decay_days=bounce_decay_days),
    )


def delivery_history(
    session: Session, subscriber_id: int, *, limit: int | None = DELIVERIES_SHOWN
) -> list[DeliveryRow]:
    """The reader's deliveries, newest edition first (limit None: all of them, for the data export)."""
    rows = session.execute(
        select(
            Delivery.edition_id,
            Edition.edition_date,
            MailingList.slug,
            Delivery.status,
            Delivery.smtp_code,
            Delivery.smtp_reply,
            Delivery.failure_kind,
            Delivery.sent_at,
        )
        .join(Edition, Edition.id == Delivery.edition_id)
        .join(MailingList, MailingList.id == Edition.list_id)
        .where(Delivery.subscriber_id == subscriber_id)
        .order_by(Edition.edition_date.desc(), Delivery.id.desc())
        .limit(limit)
    )
    return [
        DeliveryRow(
            edition_id=r[0],
            edition_date=r[1],
            list_slug=r[2],
            status=r[3],
            smtp_code=r[4],
            smtp_reply=r[5],
            failure_kind=r[6],
            sent_at=r[7],
        )
        for r in rows
    ]
