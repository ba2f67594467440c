"""What comes next for each list: its next send moment, and how many readers joined and left lately."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.delivery.schedule import due_window
from service.editions import get_edition
from service.models import EditionStatus, MailingList, Subscription

DEFAULT_CATCHUP = timedelta(hours=6)


@dataclass(frozen=True)
class NextSend:
    """When a list's next edition goes out, so nobody wonders after today's send time has passed."""

    list_slug: str
    name: str
    at: datetime  # aware, UTC
    today_status: str | None  # today's edition (in the list's zone): draft, sending, complete... or None
    edition_date: date  # the day of the edition that goes at `at`
    catching_up: bool = False  # due already: the next dispatch tick starts it


def next_sends(session: Session, *, now: datetime, catchup: timedelta = DEFAULT_CATCHUP) -> list[NextSend]:
    """Each live list's next send moment, by the same rule beat's dispatch follows (schedule.due_window)."""
    result = []
    for mailing_list in session.scalars(
        select(MailingList).where(MailingList.archived_at.is_(None)).order_by(MailingList.slug)
    ):
        today = now.astimezone(ZoneInfo(mailing_list.timezone)).date()
        todays = get_edition(session, mailing_list, today)
        for offset in range(3):
            day = today + timedelta(days=offset)
            edition = todays if offset == 0 else get_edition(session, mailing_list, day)
            if edition is not None and edition.send_status != EditionStatus.draft:
                continue  # started (or cancelled) already: not a next send
            opens, closes = due_window(session, mailing_list, day, catchup)
            if now < closes:
                result.append(
                    NextSend(
                        mailing_list.slug,
                        mailing_list.name,
                        max(opens, now),
                        todays.send_status if todays else None,
                        day,
                        opens <= now,
                    )
                )
                break
    return result


def audience_change(session: Session, *, days: int = 7, now: datetime) -> list[tuple[str, int, int]]:
    """(list slug, readers confirmed, readers unsubscribed) over the last `days`; each count rides its own index."""
    since = now - timedelta(days=days)
    gained: dict[int, int] = dict(
        session.execute(
            select(Subscription.list_id, func.count())
            .where(Subscription.confirmed_at >= since)
            .group_by(Subscription.list_id)
        ).all()
    )
    lost: dict[int, int] = dict(
        session.execute(
            select(Subscription.list_id, func.count())
            .where(Subscription.unsubscribed_at >= since)
            .group_by(Subscription.list_id)
        ).all()
    )
    lists = session.execute(
        select(MailingList.id, MailingList.slug).where(MailingList.archived_at.is_(None)).order_by(MailingList.slug)
    ).all()
    return [(slug, gained.get(list_id, 0), lost.get(list_id, 0)) for list_id, slug in lists]
