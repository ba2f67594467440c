"""The subscriber's journey as rules: subscribe, confirm, preferences, unsubscribe (no HTTP, no Celery)."""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.addresses import normalise_address
from service.errors import InvalidInput, UnknownList
from service.models import (
    ConsentEvent,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    as_utc,
    utcnow,
)
from service.suppressions import is_suppressed

MAX_NAME_LENGTH = 200
ENCODED_WORD = re.compile(r"=\?[^?]*\?[bBqQ]\?", re.ASCII)  # RFC 2047 syntax: a name is text, never encoded bytes
PAUSE_FOREVER = datetime(9999, 12, 31)
PAUSE_CHOICES = {"": None, "1w": timedelta(weeks=1), "4w": timedelta(weeks=4), "forever": "forever"}


class Notifier(Protocol):
    """Whoever carries the emails a rule decides to send, and subscribe requests to a worker (Celery in production)."""

    def subscribe_request(self, request: Any) -> None: ...

    def confirmation(self, subscriber_id: int, list_ids: Sequence[int]) -> None: ...

    def welcome(self, subscriber_id: int, list_ids: Sequence[int]) -> None: ...


@dataclass(frozen=True)
class ConsentContext:
    """Who asked, from where, under which consent text: kept as proof of consent."""

    source: str = "form"
    ip: str | None = None
    user_agent: str | None = None
    consent_text_version: str = ""


@dataclass
class SubscribeResult:
    """What a subscribe request led to; never shown to the requester (it would reveal membership)."""

    subscriber_id: int | None = None
    needs_confirmation: list[int] = field(default_factory=list)
    confirmed_now: list[int] = field(default_factory=list)
    suppressed: bool = False
    already: list[int] = field(default_factory=list)
    kept_unsubscribed: list[int] = field(default_factory=list)


def clean_name(raw: str | None) -> str:
    """A display name that is only ever text: no control characters, no encoded-word syntax, valid Unicode."""
    name = (raw or "").strip()
    if any(unicodedata.category(c) in ("Cc", "Cs") or _noncharacter(c) for c in name):
        raise InvalidInput("The name may not contain line breaks, control characters or non-characters.")
    if ENCODED_WORD.search(name):
        raise InvalidInput("The name may not contain '=?...?=' encoded text; please type it as plain text.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"The name may be at most {MAX_NAME_LENGTH} characters long.")
    return name


def _noncharacter(char: str) -> bool:
    """U+FFFE, U+FFFF and their kin are not text: XML (and so the email templates) refuses them."""
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def clean_timezone(raw: str | None, default: str = "UTC") -> str:
    """An IANA time zone name, checked against the zone database."""
    zone = (raw or "").strip() or default
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"Unknown time zone: {zone!r}.") from None
    return zone


def lists_by_slug(session: Session, slugs: Iterable[str]) -> list[MailingList]:
    """The lists named, in order, or UnknownList naming the first missing one."""
    wanted = list(dict.fromkeys(s.strip() for s in slugs if s and s.strip()))
    if not wanted:
        raise InvalidInput("Please choose at least one list.")
    found = {ml.slug: ml for ml in session.scalars(select(MailingList).where(MailingList.slug.in_(wanted)))}
    for slug in wanted:
        if slug not in found:
            raise UnknownList(f"There is no list called {slug!r}.")
        if found[slug].archived_at is not None:  # archived: no new readers
            raise UnknownList(f"The list {slug!r} is closed and takes no new readers.")
    return [found[slug] for slug in wanted]


def _record(session: Session, subscription: Subscription, action: str, consent: ConsentContext) -> None:
    """Append to the consent history."""
    session.add(
        ConsentEvent(
            subscription_id=subscription.id,
            action=action,
            ip=consent.ip,
            user_agent=(consent.user_agent or "")[:512] or None,
            source=consent.source,
            consent_text_version=consent.consent_text_version,
        )
    )


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


def _subscriptions(session: Session, subscriber_id: int) -> dict[int, Subscription]:
    """A subscriber's subscriptions keyed by list id."""
    rows = session.scalars(select(Subscription).where(Subscription.subscriber_id == subscriber_id))
    return {s.list_id: s for s in rows}


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
    current = _subscriptions(session, subscriber.id)
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
        _record(session, subscription, "confirmed" if confirm_now else "requested", consent)
        (result.confirmed_now if confirm_now else result.needs_confirmation).append(mailing_list.id)
    return result


def confirm(
    session: Session, *, subscriber_id: int, list_ids: Sequence[int], consent: ConsentContext, notifier: Notifier
) -> tuple[list[MailingList], list[MailingList]]:
    """Confirm the lists a confirmation link names; returns (confirmed now, already confirmed)."""
    current = _subscriptions(session, subscriber_id)
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
        _record(session, subscription, "confirmed", consent)
        newly.append(subscription.mailing_list)
    session.commit()
    if newly:
        notifier.welcome(subscriber_id, [ml.id for ml in newly])
    return newly, already


def unsubscribe(
    session: Session, *, subscriber_id: int, list_id: int | None, consent: ConsentContext
) -> list[MailingList]:
    """Unsubscribe from one list, or from all when list_id is None; idempotent."""
    current = _subscriptions(session, subscriber_id)
    targets = [current[list_id]] if list_id in current else ([] if list_id else list(current.values()))
    changed = []
    for subscription in targets:
        if subscription.status == SubscriptionStatus.unsubscribed:
            continue
        subscription.status = SubscriptionStatus.unsubscribed
        subscription.unsubscribed_at = utcnow()
        _record(session, subscription, "unsubscribed", consent)
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
    current = _subscriptions(session, subscriber_id)
    for list_id, subscription in current.items():
        if subscription.mailing_list.archived_at is not None:
            continue  # an archived list is not on the form: leave the reader's standing with it as it is
        if list_id not in wanted and subscription.status != SubscriptionStatus.unsubscribed:
            subscription.status = SubscriptionStatus.unsubscribed
            subscription.unsubscribed_at = utcnow()
            _record(session, subscription, "unsubscribed", consent)
    new_lists = [ml for lid, ml in wanted.items()
                 if current.get(lid) is None or current[lid].status != SubscriptionStatus.confirmed]
    if new_lists:
        add_subscriptions(session, email=subscriber.email, lists=new_lists, consent=consent, confirmed=True,
                          name=subscriber.name, timezone=subscriber.timezone, trusted_profile=True)
    session.commit()
    return subscriber


def shown_status(subscriber: Subscriber, subscription: Subscription, now: datetime | None = None) -> str:
    """A subscription's status as a person means it: a confirmed reader who paused is paused, not confirmed."""
    paused_until = as_utc(subscriber.paused_until) if subscriber.paused_until else None
    if subscription.status != SubscriptionStatus.confirmed or paused_until is None or paused_until <= (now or utcnow()):
        return subscription.status.value
    return "paused" if paused_until.year >= PAUSE_FOREVER.year else f"paused until {paused_until:%Y-%m-%d}"


def subscriber_by_email(session: Session, email: str) -> Subscriber | None:
    """Look a reader up by any spelling of the address."""
    return session.scalar(select(Subscriber).where(Subscriber.email == normalise_address(email)))


def all_lists(session: Session) -> list[MailingList]:
    """Every open list, by name, for the public forms and pages (archived lists are hidden there)."""
    return list(session.scalars(select(MailingList).where(MailingList.archived_at.is_(None))
                                .order_by(MailingList.name)))
