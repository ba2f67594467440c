"""A public subscribe request in two steps: checked at the door (same work for every address), carried out by a worker.

The web answers as soon as the request is valid, so its timing says nothing about the address's history;
whatever depends on that history (stored, confirmed, suppressed, over its limit) happens in a task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from sqlalchemy.orm import Session

from service.core.addresses import normalise_address
from service.core.fields import clean_name, clean_timezone
from service.readers.subscriptions.consent import ConsentContext
from service.readers.subscriptions.joining import Notifier, SubscribeResult, add_subscriptions
from service.readers.subscriptions.lookups import lists_by_slug


@dataclass(frozen=True)
class SubscribeRequest:
    """A request that passed every check that does not depend on who the address belongs to."""

    address: str
    name: str
    list_ids: list[int]
    timezone: str
    consent: ConsentContext

    def as_message(self) -> dict:
        """What travels to the worker through the broker (plain JSON)."""
        return asdict(self)

    @classmethod
    def from_message(cls, data: dict) -> SubscribeRequest:
        """The worker's side of as_message."""
        return cls(**{**data, "consent": ConsentContext(**data["consent"])})


def check_request(
    session: Session,
    *,
    email: str,
    name: str | None,
    list_slugs: Iterable[str],
    timezone: str | None,
    consent: ConsentContext,
    check_deliverability: bool = False,
) -> SubscribeRequest:
    """Everything a request can get wrong, checked the same way for every address (no look-up by address)."""
    address = normalise_address(email, check_deliverability=check_deliverability)
    clean = clean_name(name)
    lists = lists_by_slug(session, list_slugs)
    zone = clean_timezone(timezone, default=lists[0].timezone)
    return SubscribeRequest(
        address=address, name=clean, list_ids=[ml.id for ml in lists], timezone=zone, consent=consent
    )


def carry_out(
    session: Session,
    request: SubscribeRequest,
    *,
    notifier: Notifier,
    take_mail_slot: Callable[[str], bool] = lambda _: True,
) -> SubscribeResult:
    """Store the request and send what it calls for; an address over its mail limit gets nothing and changes nothing.

    `take_mail_slot(address)` counts one confirmation email against the mailbox's limit and says whether it was
    still allowed. Only requests that would send mail count, so requests that send none never lock an owner out.
    """
    from service.models import MailingList

    found = [session.get(MailingList, list_id) for list_id in request.list_ids]
    # a list deleted or archived since the request was checked takes no new reader
    lists = [ml for ml in found if ml is not None and ml.archived_at is None]
    if not lists:
        return SubscribeResult()
    with session.begin_nested() as trial:
        result = add_subscriptions(
            session,
            email=request.address,
            lists=lists,
            consent=request.consent,
            name=request.name,
            timezone=request.timezone,
        )
        if result.needs_confirmation and not take_mail_slot(request.address):
            trial.rollback()
            return SubscribeResult(subscriber_id=result.subscriber_id)
    session.commit()
    if result.subscriber_id is None:  # a suppressed address: nothing stored, nobody mailed
        return result
    if result.needs_confirmation:
        notifier.confirmation(result.subscriber_id, result.needs_confirmation)
    if result.confirmed_now:
        notifier.welcome(result.subscriber_id, result.confirmed_now)
    return result
