"""A reader's own choices from an email's links: preferences, pause, unsubscribe."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from service.core.errors import InvalidInput
from service.core.fields import clean_name, clean_timezone
from service.models import MailingList, Subscriber, Subscription, SubscriptionStatus, as_utc, utcnow
from service.readers.subscriptions.consent import ConsentContext, record_consent
from service.readers.subscriptions.joining import add_subscriptions
from service.readers.subscriptions.lookups import lists_by_slug, subscriptions_by_list

PAUSE_FOREVER = datetime(9999, 12, 31)
PAUSE_CHOICES = {"": None, "1w": timedelta(weeks=1), "4w": timedelta(weeks=4), "forever": "forever"}
PAUSE_INSTEAD = ("1w", "4w", "forever")  # the unsubscribe page's "pause instead" offers no way to resume


def unsubscribe(
    session: Session, *, subscriber_id: int, list_id: int | None, consent: ConsentContext
) -> list[MailingList]:
    """Unsubscribe from one list, or from all when list_id is None; idempotent."""
    current = subscriptions_by_list(session, subscriber_id)
    targets = [current[list_id]] if list_id in current else ([] if list_id else list(current.values()))
    changed = []
    for subscription in targets:
        if subscription.status == SubscriptionStatus.unsubscribed:
            continue
        subscription.status = SubscriptionStatus.unsubscribed
        subscription.unsubscribed_at = utcnow()
        record_consent(session, subscription, "unsubscribed", consent)
        changed.append(subscription.mailing_list)
    session.commit()
    return changed


def pause_until(choice: str) -> datetime | None:
    """Turn a pause choice from the preferences form into a date (None: not paused)."""
    if choice not in PAUSE_CHOICES:
        raise InvalidInput("Unknown pause choice.")
    span = PAUSE_CHOICES[choice]
    if isinstance(span, timedelta):
        return utcnow() + span
    return PAUSE_FOREVER if span == "forever" else None


def pause_emails(session: Session, *, subscriber_id: int, choice: str) -> datetime | None:
    """Pause every email and keep the subscriptions: the unsubscribe link may do less than unsubscribe."""
    if choice not in PAUSE_INSTEAD:
        raise InvalidInput("Choose how long to pause: 1 week, 4 weeks, or until you resume.")
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise InvalidInput("This subscriber no longer exists.")
    until = pause_until(choice)
    subscriber.paused_until = until
    session.commit()
    return until


def update_preferences(
    session: Session,
    *,
    subscriber_id: int,
    name: str | None,
    timezone: str | None,
    list_slugs: Iterable[str],
    pause: str,
    consent: ConsentContext,
) -> Subscriber:
    """Apply the preferences form; the link proves the inbox, so newly ticked lists start confirmed."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise InvalidInput("This subscriber no longer exists.")
    subscriber.name = clean_name(name)
    subscriber.timezone = clean_timezone(timezone, default=subscriber.timezone)
    if pause != "keep":
        subscriber.paused_until = pause_until(pause)
    slugs = [slug for slug in list_slugs if slug]
    wanted = {ml.id: ml for ml in (lists_by_slug(session, slugs) if slugs else [])}
    current = subscriptions_by_list(session, subscriber_id)
    for list_id, subscription in current.items():
        if subscription.mailing_list.archived_at is not None:
            continue  # an archived list is not on the form: leave the reader's standing with it as it is
        if list_id not in wanted and subscription.status != SubscriptionStatus.unsubscribed:
            subscription.status = SubscriptionStatus.unsubscribed
            subscription.unsubscribed_at = utcnow()
            record_consent(session, subscription, "unsubscribed", consent)
    new_lists = [
        ml
        for lid, ml in wanted.items()
        if current.get(lid) is None or current[lid].status != SubscriptionStatus.confirmed
    ]
    if new_lists:
        add_subscriptions(
            session,
            email=subscriber.email,
            lists=new_lists,
            consent=consent,
            confirmed=True,
            name=subscriber.name,
            timezone=subscriber.timezone,
            trusted_profile=True,
        )
    session.commit()
    return subscriber


def shown_status(subscriber: Subscriber, subscription: Subscription, now: datetime | None = None) -> str:
    """A subscription's status as a person means it: a confirmed reader who paused is paused, not confirmed."""
    paused_until = as_utc(subscriber.paused_until) if subscriber.paused_until else None
    if subscription.status != SubscriptionStatus.confirmed or paused_until is None or paused_until <= (now or utcnow()):
        return subscription.status.value
    return "paused" if paused_until.year >= PAUSE_FOREVER.year else f"paused until {paused_until:%Y-%m-%d}"
