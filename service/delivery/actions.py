"""What an admin can do to an edition, one function each, for the CLI, the tasks, the admin UI and the API alike."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from service.core.addresses import normalise_address
from service.core.config import Settings
from service.core.db import engine_for
from service.core.errors import InvalidInput, ServiceUnavailable, UnknownList, UnknownPage
from service.delivery import control
from service.delivery.schedule import send_now as start_now
from service.editions import build_edition, get_edition
from service.editions.rendering import edition_message
from service.lists.rules import SLUG, get_list
from service.mail import smtp
from service.models import Edition, MailingList, Subscriber, utcnow

DrainStarter = Callable[[int, int], None]  # (edition id, how many drains): Celery's start_drains in production
SAMPLE_READER = Subscriber(id=0, email="reader@example.com", name="Sample Reader")
DAYS_BACK, DAYS_AHEAD = 5 * 366, 366  # an edition day outside this is a typo (and year 1 overflows the window maths)


@dataclass(frozen=True)
class Started:
    """What "send now" did: the edition, and how many readers it planned (None: it had started before)."""

    edition: Edition
    planned: int | None


def edition_of(session: Session, list_slug: str, day: date) -> Edition:
    """The built edition of a list and day, or a clear error."""
    edition = get_edition(session, get_list(session, list_slug), day)
    if edition is None:
        raise InvalidInput(f"no edition of {list_slug} for {day}; build or send it first")
    return edition


def list_named(session: Session, slug: str) -> MailingList:
    """A list by a slug typed into a URL or form: one that cannot be a slug names no list (and never reaches SQL)."""
    if not SLUG.match(slug or ""):
        raise UnknownList(f"There is no list called {slug[:80]!r}.")
    return get_list(session, slug)


def find_edition(session: Session, edition_id: int) -> Edition:
    """An edition by id, or a 404 for the UI and API."""
    edition = session.get(Edition, edition_id) if 0 < edition_id < 2**31 else None
    if edition is None:
        raise UnknownPage(f"There is no edition {edition_id}.")
    return edition


def recent_editions(
    session: Session, *, list_slug: str | None = None, before: tuple[date, int] | None = None, limit: int = 50
) -> list[Edition]:
    """Editions newest first (by day, then id), optionally of one list, a page at a time (keyset on day and id)."""
    query = select(Edition).join(MailingList, MailingList.id == Edition.list_id)
    if list_slug:
        if not SLUG.match(list_slug):
            return []  # no list has that name
        query = query.where(MailingList.slug == list_slug)
    if before is not None:
        day, edition_id = before
        query = query.where(or_(Edition.edition_date < day, and_(Edition.edition_date == day, Edition.id < edition_id)))
    return list(session.scalars(query.order_by(Edition.edition_date.desc(), Edition.id.desc()).limit(limit)))


def check_day(day: date, today: date | None = None) -> date:
    """An edition day within a few years of today; anything else is refused before building."""
    today = today or utcnow().date()
    if not today - timedelta(days=DAYS_BACK) <= day <= today + timedelta(days=DAYS_AHEAD):
        raise InvalidInput(f"date {day} is too far from today ({today}) for an edition")
    return day


def preview(
    session: Session, settings: Settings, mailing_list: MailingList, day: date, reader: Subscriber = SAMPLE_READER
) -> EmailMessage | None:
    """The message a reader would get: a draft assembled afresh from the current stories, nothing written."""
    check_day(day)
    edition = build_edition(session, settings=settings, mailing_list=mailing_list, day=day, freeze=False, store=False)
    return None if edition is None else edition_message(settings, edition, mailing_list, reader)


def send_test(session: Session, settings: Settings, mailing_list: MailingList, day: date, address: str) -> str:
    """Mail the day's edition to one address, marked as a test; returns the address it went to."""
    to = normalise_address(address)
    message = preview(session, settings, mailing_list, day, Subscriber(id=0, email=to, name=""))
    if message is None:
        raise InvalidInput(f"no stories for {mailing_list.slug} on {day}: nothing to test")
    subject = message["Subject"]
    del message["Subject"]
    message["Subject"] = f"[Test] {subject}"
    try:
        smtp.send_one(settings.smtp, message)
    except smtplib.SMTPRecipientsRefused as error:  # the relay's own words, for the admin who typed the address
        code, reply = next(iter(error.recipients.values()), (0, b""))
        raise InvalidInput(f"the mail server refused {to}: {code} {reply.decode(errors='replace')}") from None
    except smtp.NeedsSmtpUtf8 as error:
        raise InvalidInput(str(error)) from None
    except (smtplib.SMTPException, OSError) as error:
        raise ServiceUnavailable(f"the test could not be sent to {to}: {error}") from None
    return to


def send_now(
    session: Session, settings: Settings, mailing_list: MailingList, day: date, start_drains: DrainStarter
) -> Started | None:
    """Build if needed, start at once (local-time lists included) and set workers on it; None: no stories."""
    check_day(day)
    edition, planned = start_now(settings, session, mailing_list, day, utcnow())
    if edition is None:
        return None
    start_drains(edition.id, settings.send_parallelism)
    return Started(edition, planned)


def pause(settings: Settings, edition_id: int) -> None:
    """Stop after the batches in flight; resume carries on where it stopped."""
    if not control.set_paused(engine_for(settings.effective_database_url), edition_id, paused=True):
        raise InvalidInput(f"edition {edition_id} cannot be paused in its current state")


def resume(settings: Settings, edition_id: int, start_drains: DrainStarter) -> int:
    """Carry on sending a paused edition; after a pause for refusals, returns how many refused readers are retried."""
    retried = control.resume(engine_for(settings.effective_database_url), edition_id, now=utcnow())
    if retried is None:
        raise InvalidInput(f"edition {edition_id} cannot be resumed in its current state")
    start_drains(edition_id, settings.send_parallelism)
    return retried


def cancel(settings: Settings, edition_id: int) -> int:
    """Stop for good: readers not yet mailed will not get it; returns how many deliveries were dropped."""
    return control.cancel(engine_for(settings.effective_database_url), edition_id)


def retry_failed(settings: Settings, edition_id: int, start_drains: DrainStarter) -> int:
    """Send again to the readers whose delivery failed (never to unknown or unusable addresses); returns how many."""
    reopened = control.retry_failed(
        engine_for(settings.effective_database_url),
        edition_id,
        now=utcnow(),
        expiry=timedelta(hours=settings.send_expiry_hours),
    )
    if reopened:
        start_drains(edition_id, settings.send_parallelism)
    return reopened
