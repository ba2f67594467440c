"""Subscriber search for admins: address or name fragments, list and status filters, keyset pages on id."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from service.core.errors import InvalidInput
from service.lists.rules import get_list
from service.models import MailingList, Subscriber, Subscription, SubscriptionStatus, as_utc, utcnow

STATUSES = ("unconfirmed", "confirmed", "paused", "unsubscribed")
MAX_LIMIT = 500
_Found = Select[int, str, str, datetime]  # id, email, name, created_at
_RANK = {"confirmed": 0, "paused": 1, "unconfirmed": 2, "unsubscribed": 3}  # a reader's headline status, best first


@dataclass(frozen=True)
class SubscriberRow:
    """One reader in a result page; `status` is on the filtered list, else the best of the reader's lists."""

    id: int
    email: str
    name: str
    status: str
    lists: list[str]
    created_at: datetime


@dataclass(frozen=True)
class Page:
    """A page of readers, newest first; pass `next_after` as `after` for the next page (None: this is the last)."""

    rows: list[SubscriberRow]
    next_after: int | None


def status_of(status: SubscriptionStatus | str, paused_until: datetime | None, now: datetime | None = None) -> str:
    """What a subscription's status means to a person: a confirmed reader whose pause has not ended is paused."""
    value = status.value if isinstance(status, SubscriptionStatus) else str(status)
    if value == "confirmed" and paused_until is not None and as_utc(paused_until) > (now or utcnow()):
        return "paused"
    return value


def check_status(status: str | None) -> str | None:
    """The status filter, checked (None or empty: any status)."""
    if not status:
        return None
    if status not in STATUSES:
        raise InvalidInput(f"Unknown status {status!r}: choose one of {', '.join(STATUSES)}.")
    return status


def status_condition(status: str, now: datetime) -> ColumnElement[bool]:
    """SQL for "this subscription row has this shown status" (needs subscribers joined for the pause)."""
    if status == "paused":
        return and_(Subscription.status == SubscriptionStatus.confirmed, Subscriber.paused_until > now)
    if status == "confirmed":
        return and_(
            Subscription.status == SubscriptionStatus.confirmed,
            or_(Subscriber.paused_until.is_(None), Subscriber.paused_until <= now),
        )
    return Subscription.status == SubscriptionStatus(status)


def _like(query: str) -> str:
    """A LIKE pattern matching the fragment anywhere, its own % and _ taken literally."""
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching(
    session: Session, *, query: str, list_id: int | None, status: str | None, now: datetime
) -> tuple[_Found, Any]:
    """Readers matching the filters, newest first; with a list, driven by the (list, status, subscriber) index."""
    columns = (Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.created_at)
    if list_id is not None:
        statement = (
            select(*columns)
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(Subscription.list_id == list_id)
        )
        if status is not None:
            statement = statement.where(status_condition(status, now))
        order = Subscription.subscriber_id  # the index column: PostgreSQL walks it backwards and stops early
    else:
        statement = select(*columns)
        if status is not None:
            statement = statement.where(
                exists().where(Subscription.subscriber_id == Subscriber.id, status_condition(status, now))
            )
        order = Subscriber.id
    if query.strip():
        pattern = _like(query.strip())
        statement = statement.where(
            or_(
                func.lower(Subscriber.email).like(pattern, escape="\\"),
                func.lower(Subscriber.name).like(pattern, escape="\\"),
            )
        )
    return statement.order_by(order.desc()), order


def search_subscribers(
    session: Session,
    *,
    query: str = "",
    list_slug: str | None = None,
    status: str | None = None,
    after: int | None = None,
    limit: int = 50,
) -> Page:
    """One page of readers whose address or name contains `query` (any case), on a list and in a status."""
    status = check_status(status)
    limit = max(1, min(limit, MAX_LIMIT))
    list_id = get_list(session, list_slug).id if list_slug else None
    now = utcnow()
    statement, order = _matching(session, query=query, list_id=list_id, status=status, now=now)
    if after is not None:
        statement = statement.where(order < after)
    found = session.execute(statement.limit(limit + 1)).all()
    more = len(found) > limit
    found = found[:limit]
    memberships = _memberships(session, [row.id for row in found], now)
    rows = []
    for row in found:
        held = memberships.get(row.id, [])
        if list_id is not None:
            shown = next((state for lid, _, state in held if lid == list_id), "unsubscribed")
        elif status is not None:
            shown = status
        else:
            shown = min((state for _, _, state in held), key=_RANK.__getitem__, default="unsubscribed")
        rows.append(
            SubscriberRow(
                id=row.id,
                email=row.email,
                name=row.name,
                status=shown,
                lists=sorted(slug for _, slug, _ in held),
                created_at=row.created_at,
            )
        )
    return Page(rows=rows, next_after=rows[-1].id if more and rows else None)


def _memberships(session: Session, subscriber_ids: list[int], now: datetime) -> dict[int, list[tuple[int, str, str]]]:
    """(list id, slug, shown status) of every subscription of the page's readers, in one query."""
    held: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
    if not subscriber_ids:
        return held
    rows = session.execute(
        select(
            Subscription.subscriber_id, MailingList.id, MailingList.slug, Subscription.status, Subscriber.paused_until
        )
        .join(MailingList, MailingList.id == Subscription.list_id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(Subscription.subscriber_id.in_(subscriber_ids))
    )
    for subscriber_id, list_id, slug, state, paused_until in rows:
        held[subscriber_id].append((list_id, slug, status_of(state, paused_until, now)))
    return held
