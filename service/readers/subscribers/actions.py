"""What an admin may do to a reader or an address; each action commits together with its audit entry."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.admin import audit
from service.core.addresses import address_hash, normalise_address
from service.core.errors import InvalidInput, UnknownPage
from service.delivery import ledger
from service.lists.rules import get_list
from service.mail import suppressions
from service.mail.suppressions import SuppressionPage, SuppressionRow
from service.models import ConsentEvent, Subscriber, Subscription, SubscriptionStatus, utcnow

ADMIN_SOURCE = "admin"


def _subscriber(session: Session, subscriber_id: int) -> Subscriber:
    """The reader, or UnknownPage."""
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise UnknownPage(f"There is no subscriber {subscriber_id}.")
    return subscriber


def _reason(reason: str | None) -> str:
    """A stated reason, required: the audit log must say why."""
    cleaned = (reason or "").strip()
    if not cleaned:
        raise InvalidInput("Please give a reason; it is kept in the audit log.")
    return cleaned[:200]


def unsubscribe(
    session: Session, subscriber_id: int, *, list_slug: str | None, actor: str, ip: str | None = None
) -> list[str]:
    """Unsubscribe the reader from one list (or all, list_slug None); returns the slugs that changed. Idempotent."""
    subscriber = _subscriber(session, subscriber_id)
    list_id = get_list(session, list_slug).id if list_slug else None
    query = select(Subscription).where(
        Subscription.subscriber_id == subscriber.id, Subscription.status != SubscriptionStatus.unsubscribed
    )
    if list_id is not None:
        query = query.where(Subscription.list_id == list_id)
    now, changed = utcnow(), []
    for subscription in session.scalars(query):
        subscription.status = SubscriptionStatus.unsubscribed
        subscription.unsubscribed_at = now
        session.add(
            ConsentEvent(
                subscription_id=subscription.id,
                action="unsubscribed",
                at=now,
                source=ADMIN_SOURCE,
                details={"actor": actor},
            )
        )
        changed.append(subscription.mailing_list.slug)
    audit.record(
        session,
        actor=actor,
        action="subscriber.unsubscribe",
        object_type="subscriber",
        object_id=subscriber.id,
        details={"list": list_slug, "changed": sorted(changed)},
        ip=ip,
    )
    session.commit()
    return sorted(changed)


def suppress_address(session: Session, email: str, *, reason: str, actor: str, ip: str | None = None) -> SuppressionRow:
    """Never mail this address again (idempotent); the audit log names it only by hash, as the list does."""
    address, why = normalise_address(email), _reason(reason)
    suppressions.suppress(session, address, why)
    audit.record(
        session,
        actor=actor,
        action="suppression.add",
        object_type="suppression",
        object_id=address_hash(address),
        details={"reason": why},
        ip=ip,
    )
    session.commit()
    found = suppressions.lookup(session, address)
    assert found is not None
    return found


def unsuppress_address(session: Session, email: str, *, reason: str, actor: str, ip: str | None = None) -> None:
    """Let a suppressed address be mailed again, for a stated reason; InvalidInput when it was not suppressed."""
    address, why = normalise_address(email), _reason(reason)
    if not suppressions.unsuppress(session, address):
        raise InvalidInput("That address is not on the suppression list.")
    audit.record(
        session,
        actor=actor,
        action="suppression.remove",
        object_type="suppression",
        object_id=address_hash(address),
        details={"reason": why},
        ip=ip,
    )
    session.commit()


def delete_subscriber(session: Session, subscriber_id: int, *, actor: str, ip: str | None = None) -> None:
    """Delete a reader with their subscriptions and consent history; the audit keeps no address.

    Their delivery rows stay, anonymous, for the editions' figures (see service.readers.subscribers.erasure,
    which also suppresses the address).
    """
    subscriber = _subscriber(session, subscriber_id)
    lists = sorted(s.mailing_list.slug for s in subscriber.subscriptions)
    ledger.forget_reader(session.connection(), subscriber_id)
    session.delete(subscriber)
    audit.record(
        session,
        actor=actor,
        action="subscriber.delete",
        object_type="subscriber",
        object_id=subscriber_id,
        details={"lists": lists},
        ip=ip,
    )
    session.commit()


def suppressions_page(session: Session, *, after: int | None = None, limit: int = 50) -> SuppressionPage:
    """The suppression list, newest first: hashes, reasons and dates (addresses are not kept)."""
    return suppressions.page(session, after=after, limit=max(1, min(limit, 500)))


def lookup_suppression(session: Session, email: str) -> SuppressionRow | None:
    """Whether an address is suppressed, and why."""
    return suppressions.lookup(session, normalise_address(email))
