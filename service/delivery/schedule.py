"""What is due now: beat calls `dispatch` every minute; it freezes and starts each list's draft at its send time.

A list that holds its editions for approval (send mode 'hold') starts only an approved (frozen) draft; one
nobody approved waits (service.editions.drafts.awaiting_approval) and starts when approved.

Dispatch is idempotent (an edition starts once, whoever asks), so two beats, a restarted beat or
a catch-up after downtime never send twice. For a list with local-time delivery, the edition
starts when the first reader's zone reaches the send time and every row waits for its own zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.core.db import engine_for, session_scope
from service.delivery import control
from service.editions import build_edition, get_edition, send_moment
from service.editions.drafts import is_held
from service.models import Edition, EditionStatus, MailingList, Subscriber, Subscription, SubscriptionStatus


@dataclass(frozen=True)
class Started:
    """An edition this dispatch opened for sending."""

    edition_id: int
    list_slug: str
    day: date
    planned: int


def reader_zones(session: Session, mailing_list: MailingList) -> list[str]:
    """The distinct time zones of the list's confirmed readers (a handful, however many readers)."""
    query = (
        select(Subscriber.timezone)
        .distinct()
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.list_id == mailing_list.id, Subscription.status == SubscriptionStatus.confirmed)
    )
    return list(session.scalars(query)) or [mailing_list.timezone]


def due_window(session: Session, mailing_list: MailingList, day: date, catchup: timedelta) -> tuple[datetime, datetime]:
    """From when until when the edition for `day` may start (the end allows catching up after downtime)."""
    if not mailing_list.local_time_delivery:
        moment = send_moment(mailing_list, day)
        return moment, moment + catchup
    moments = [send_moment(mailing_list, day, zone) for zone in reader_zones(session, mailing_list)]
    return min(moments), max(moments) + catchup


def candidate_days(mailing_list: MailingList, now: datetime) -> list[date]:
    """Yesterday, today and tomorrow in the list's zone: readers' zones span about a day either way."""
    today = now.astimezone(ZoneInfo(mailing_list.timezone)).date()
    return [today - timedelta(days=1), today, today + timedelta(days=1)]


def dispatch(settings: Settings, now: datetime) -> list[Started]:
    """Build and start every edition that is due and not yet started."""
    started = []
    engine = engine_for(settings.effective_database_url)
    catchup = timedelta(hours=settings.dispatch_catchup_hours)
    with session_scope(settings.effective_database_url) as session:
        open_lists = select(MailingList).where(MailingList.archived_at.is_(None))  # archived lists get no editions
        for mailing_list in session.scalars(open_lists.order_by(MailingList.id)):
            for day in candidate_days(mailing_list, now):
                opens, closes = due_window(session, mailing_list, day, catchup)
                if not opens <= now < closes:
                    continue
                edition = get_edition(session, mailing_list, day)
                if edition is not None and edition.send_status != EditionStatus.draft:
                    continue
                if is_held(mailing_list, edition):
                    if edition is None:  # so the editor has a draft to approve, and it shows as waiting
                        build_edition(
                            session, settings=settings, mailing_list=mailing_list, day=day, now=now, freeze=False
                        )
                    continue
                edition = build_edition(session, settings=settings, mailing_list=mailing_list, day=day, now=now)
                if edition is None:
                    continue  # nothing to send that day (skip_empty_editions)
                planned = control.start(engine, settings=settings, edition=edition, mailing_list=mailing_list, now=now)
                if planned is not None:
                    started.append(Started(edition.id, mailing_list.slug, day, planned))
    return started


def send_now(
    settings: Settings, session: Session, mailing_list: MailingList, day: date, now: datetime, by: str | None = None
):
    """An admin's "send it now": assemble the draft a last time, freeze and start at once, local-time lists included."""
    edition = build_edition(session, settings=settings, mailing_list=mailing_list, day=day, now=now, by=by)
    if edition is None:
        return None, None
    planned = control.start(
        engine_for(settings.effective_database_url),
        settings=settings,
        edition=edition,
        mailing_list=mailing_list,
        now=now,
        immediately=True,
    )
    return edition, planned


def start_approved(settings: Settings, session: Session, edition: Edition, now: datetime) -> int | None:
    """An approved edition whose send time has passed goes out now (each reader's zone as planned); else None."""
    mailing_list = edition.mailing_list
    if now < due_window(session, mailing_list, edition.edition_date, timedelta(0))[0]:
        return None  # beat starts it at its send time
    return control.start(
        engine_for(settings.effective_database_url),
        settings=settings,
        edition=edition,
        mailing_list=mailing_list,
        now=now,
    )
