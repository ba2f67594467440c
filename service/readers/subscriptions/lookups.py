"""The lists, readers and subscriptions the rules and the public pages look up."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.addresses import normalise_address
from service.core.errors import InvalidInput, UnknownList
from service.i18n.locales import N_
from service.lists.rules import SLUG
from service.models import MailingList, Subscriber, Subscription


def lists_by_slug(session: Session, slugs: Iterable[str]) -> list[MailingList]:
    """The lists named, in order, or UnknownList naming the first missing one."""
    wanted = list(dict.fromkeys(s.strip() for s in slugs if s and s.strip()))
    if not wanted:
        raise InvalidInput(N_("Please choose at least one list."))
    if bad := next((slug for slug in wanted if not SLUG.fullmatch(slug)), None):
        raise InvalidInput(f"{bad[:70]!r} is not a list name (lower-case letters, digits and dashes, e.g. world-news).")
    found = {ml.slug: ml for ml in session.scalars(select(MailingList).where(MailingList.slug.in_(wanted)))}
    for slug in wanted:
        if slug not in found:
            raise UnknownList(f"There is no list called {slug!r}.")
        if found[slug].archived_at is not None:  # archived: no new readers
            raise UnknownList(f"The list {slug!r} is closed and takes no new readers.")
    return [found[slug] for slug in wanted]


def all_lists(session: Session) -> list[MailingList]:
    """Every open list, by name, for the public forms and pages (archived lists are hidden there)."""
    return list(
        session.scalars(select(MailingList).where(MailingList.archived_at.is_(None)).order_by(MailingList.name))
    )


def subscriber_by_email(session: Session, email: str) -> Subscriber | None:
    """Look a reader up by any spelling of the address."""
    return session.scalar(select(Subscriber).where(Subscriber.email == normalise_address(email)))


def subscriptions_by_list(session: Session, subscriber_id: int) -> dict[int, Subscription]:
    """A subscriber's subscriptions keyed by list id."""
    rows = session.scalars(select(Subscription).where(Subscription.subscriber_id == subscriber_id))
    return {s.list_id: s for s in rows}
