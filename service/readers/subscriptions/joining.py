"""Joining lists: put an address on lists with its consent record, and confirm from the emailed link."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.mail.suppressions import is_suppressed
from service.models import MailingList, Subscriber, Subscription, SubscriptionStatus, utcnow
from service.readers.subscriptions.consent import ConsentContext, record_consent
from service.readers.subscriptions.lookups import subscriptions_by_list


class Notifier(Protocol):
    """Whoever carries the emails a rule decides to send, and subscribe requests to a worker (Celery in production)."""

    def subscribe_request(self, request: Any) -> None: ...

    def confirmation(self, subscriber_id: int, list_ids: Sequence[int]) -> None: ...

    def welcome(self, subscriber_id: int, list_ids: Sequence[int]) -> None: ...

    def data_link(self, subscriber_id: int) -> None: ...


@dataclass
class SubscribeResult:
    """What a subscribe request led to; never shown to the requester (it would reveal membership)."""

    subscriber_id: int | None = None
    needs_confirmation: list[int] = field(default_factory=list)
    confirmed_now: list[int] = field(default_factory=list)
    suppressed: bool = False
    already: list[int] = field(default_factory=list)
    kept_unsubscribed: list[int] = field(default_factory=list)


def _get_or_create_subscriber(session: Session, email: str, name: str, timezone: str) -> tuple[Subscriber, bool]:
    """The subscriber for an address, created if new; safe against a concurrent insert."""
    existing = session.scalar(select(Subscriber).where(Subscriber.email == email))
    if existing:
        return existing, False
    try:
        with session.begin_nested():
            subscriber = Subscriber(email=email, name=name, timezone=timezone)
            session.add(subscriber)
        return subscriber, True
    except IntegrityError:
        return session.scalars(select(Subscriber).where(Subscriber.email == email)).one(), False


def _start(subscription: Subscription, consent: ConsentContext, confirmed: bool) -> None:
    """(Re)start a subscription with a fresh consent record."""
    now = utcnow()
    subscription.status = SubscriptionStatus.confirmed if confirmed else SubscriptionStatus.unconfirmed
    subscription.subscribed_at = now
    subscription.confirmed_at = now if confirmed else None
    subscription.unsubscribed_at = None
    subscription.ip = consent.ip
    subscription.user_agent = (consent.user_agent or "")[:512] or None
    subscription.source = consent.source
    subscription.consent_text_version = consent.consent_text_version


def add_subscriptions(
    session: Session,
    *,
    email: str,
    lists: Sequence[MailingList],
    consent: ConsentContext,
    name: str = "",
    timezone: str = "UTC",
    confirmed: bool = False,
    trusted_profile: bool = False,
    restart_unsubscribed: bool = True,
) -> SubscribeResult:
    """Put an address on lists without committing; confirmed ones stay, unsubscribed ones start over if allowed."""
    result = SubscribeResult()
    if is_suppressed(session, email):
        result.suppressed = True
        return result
    subscriber, created = _get_or_create_subscriber(session, email, name, timezone)
    result.subscriber_id = subscriber.id
    current = subscriptions_by_list(session, subscriber.id)
    has_confirmed = any(s.status == SubscriptionStatus.confirmed for s in current.values())
    if not created and (trusted_profile or not has_confirmed):
        # Only the owner (or an admin) may change a confirmed reader's profile.
        subscriber.name = name or subscriber.name
        subscriber.timezone = timezone
    for mailing_list in lists:
        subscription = current.get(mailing_list.id)
        if subscription and subscription.status == SubscriptionStatus.confirmed:
            result.already.append(mailing_list.id)
            continue
        if subscription and subscription.status == SubscriptionStatus.unsubscribed and not restart_unsubscribed:
            result.kept_unsubscribed.append(mailing_list.id)
            continue
        confirm_now = confirmed or not mailing_list.double_opt_in
        if subscription is None:
            subscription = Subscription(subscriber_id=subscriber.id, list_id=mailing_list.id)
            session.add(subscription)
        _start(subscription, consent, confirm_now)
        session.flush()
        record_consent(session, subscription, "confirmed" if confirm_now else "requested", consent)
        (result.confirmed_now if confirm_now else result.needs_confirmation).append(mailing_list.id)
    return result


def confirm(
    session: Session, *, subscriber_id: int, list_ids: Sequence[int], consent: ConsentContext, notifier: Notifier
) -> tuple[list[MailingList], list[MailingList]]:
    """Confirm the lists a confirmation link names; returns (confirmed now, already confirmed)."""
    current = subscriptions_by_list(session, subscriber_id)
    newly, already = [], []
    for list_id in list_ids:
        subscription = current.get(list_id)
        if subscription is None or subscription.status == SubscriptionStatus.unsubscribed:
            continue  # unsubscribed since the link was sent: the later choice wins
        if subscription.status == SubscriptionStatus.confirmed:
            already.append(subscription.mailing_list)
            continue
        subscription.status = SubscriptionStatus.confirmed
        subscription.confirmed_at = utcnow()
        record_consent(session, subscription, "confirmed", consent)
        newly.append(subscription.mailing_list)
    session.commit()
    if newly:
        notifier.welcome(subscriber_id, [ml.id for ml in newly])
    return newly, already
