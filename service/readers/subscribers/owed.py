"""The confirmation and welcome emails one reader is still owed, read now: the reader may have moved on since asking."""

from __future__ import annotations

from collections.abc import Sequence
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.mail import emails
from service.mail.suppressions import is_suppressed
from service.models import MailingList, Subscriber, Subscription, SubscriptionStatus


def _lists_in(
    session: Session, subscriber_id: int, list_ids: Sequence[int], status: SubscriptionStatus
) -> list[MailingList]:
    """The named lists on which the reader is still in the given state (the state may have moved on)."""
    query = (
        select(MailingList)
        .join(Subscription, Subscription.list_id == MailingList.id)
        .where(
            Subscription.subscriber_id == subscriber_id,
            Subscription.list_id.in_(list_ids),
            Subscription.status == status,
        )
        .order_by(MailingList.name)
    )
    return list(session.scalars(query))


def _reader(session: Session, subscriber_id: int) -> Subscriber | None:
    """The reader, unless they are gone or their address is suppressed (then nothing is owed)."""
    subscriber = session.get(Subscriber, subscriber_id)
    return None if subscriber is None or is_suppressed(session, subscriber.email) else subscriber


def confirmation_owed(
    session: Session, settings: Settings, subscriber_id: int, list_ids: Sequence[int]
) -> EmailMessage | None:
    """The double opt-in email for the named lists still awaiting confirmation; None when none does."""
    subscriber = _reader(session, subscriber_id)
    if subscriber is None:
        return None
    lists = _lists_in(session, subscriber_id, list_ids, SubscriptionStatus.unconfirmed)
    return emails.confirmation_message(settings, subscriber, lists) if lists else None


def data_link_owed(session: Session, settings: Settings, subscriber_id: int) -> EmailMessage | None:
    """The data link a reader asked for, unless they are gone or their address is suppressed."""
    subscriber = _reader(session, subscriber_id)
    return emails.data_link_message(settings, subscriber) if subscriber is not None else None


def welcomes_owed(
    session: Session, settings: Settings, subscriber_id: int, list_ids: Sequence[int]
) -> list[EmailMessage]:
    """One welcome for each named list the reader is confirmed on (built in the session: brands read through it)."""
    subscriber = _reader(session, subscriber_id)
    if subscriber is None:
        return []
    lists = _lists_in(session, subscriber_id, list_ids, SubscriptionStatus.confirmed)
    return [emails.welcome_message(settings, subscriber, ml) for ml in lists]
