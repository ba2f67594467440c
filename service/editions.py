"""Which stories go into a list's edition for a day; an edition is built once and then frozen."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.config import Settings
from service.models import Edition, MailingList, Story, as_utc, utcnow
from service.rendering import render_edition

FIRST_EDITION_LOOKBACK = timedelta(hours=24)


def send_moment(mailing_list: MailingList, day: date, zone_name: str | None = None) -> datetime:
    """When the list's edition for a day is due, in UTC: at its send time in the list's zone, or in a reader's.

    One moment per day whatever DST does: a send time in the skipped hour comes just after the jump,
    one in the repeated hour comes the first time round.
    """
    try:
        zone = ZoneInfo(zone_name or mailing_list.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(mailing_list.timezone)
    return datetime.combine(day, mailing_list.send_time, tzinfo=zone).astimezone(ZoneInfo("UTC"))


def get_edition(session: Session, mailing_list: MailingList, day: date) -> Edition | None:
    """The edition already built for this list and day, if any."""
    return session.scalar(select(Edition).where(Edition.list_id == mailing_list.id, Edition.edition_date == day))


def edition_window(session: Session, mailing_list: MailingList, day: date, now: datetime) -> tuple[datetime, datetime]:
    """Stories received after the previous edition's cut-off (or in the last 24 h) up to now or the day's send time."""
    now = as_utc(now).astimezone(timezone.utc)  # SQLite compares the stored text: every bound must be UTC
    end = min(now, send_moment(mailing_list, day)) if day < now.astimezone(ZoneInfo(mailing_list.timezone)).date() else now
    previous = session.scalar(
        select(Edition.window_end)
        .where(Edition.list_id == mailing_list.id, Edition.edition_date < day)
        .order_by(Edition.edition_date.desc())
        .limit(1)
    )
    start = as_utc(previous) if previous else end - FIRST_EDITION_LOOKBACK
    return start, end


def select_stories(session: Session, mailing_list: MailingList, start: datetime, end: datetime, cap: int) -> list[Story]:
    """The list's categories (all, for a list without any), most sources first, then the most recent."""
    query = select(Story).where(Story.received_at > start, Story.received_at <= end)
    if mailing_list.categories:
        query = query.where(Story.category.in_(mailing_list.categories))
    query = query.order_by(Story.source_count.desc(), Story.story_date.desc().nulls_last(),
                           Story.received_at.desc(), Story.id.desc())
    return list(session.scalars(query.limit(cap)))


def edition_stories(session: Session, edition: Edition) -> list[Story]:
    """The frozen stories of an edition, in edition order."""
    rows = {s.id: s for s in session.scalars(select(Story).where(Story.id.in_(edition.story_ids)))}
    return [rows[i] for i in edition.story_ids if i in rows]


def build_edition(
    session: Session, *, settings: Settings, mailing_list: MailingList, day: date, now: datetime | None = None,
    freeze: bool = True,
) -> Edition | None:
    """Build and freeze the edition, or return the one already built; None when there is nothing to send.

    With freeze=False (a preview before send time) nothing is stored, so the day's stories can still grow.
    """
    existing = get_edition(session, mailing_list, day)
    if existing:
        return existing
    start, end = edition_window(session, mailing_list, day, now or utcnow())
    stories = select_stories(session, mailing_list, start, end, settings.edition_max_stories)
    if not stories and settings.skip_empty_editions:
        return None
    rendered = render_edition(settings, mailing_list, day, stories)
    edition = Edition(list_id=mailing_list.id, edition_date=day, story_ids=[s.id for s in stories],
                      window_start=start, window_end=end, subject=rendered.subject, preheader=rendered.preheader,
                      placeholder_key=rendered.placeholder_key, html=rendered.html, text=rendered.text)
    if not freeze:
        edition.id = 0
        return edition
    try:
        with session.begin_nested():
            session.add(edition)
        session.commit()
    except IntegrityError:
        session.rollback()  # another process built it first: theirs is the edition
        return get_edition(session, mailing_list, day)
    return edition


def archived_editions(session: Session, mailing_list: MailingList | None = None, limit: int = 100) -> list[Edition]:
    """Past editions, newest first, for the archive and its feed."""
    query = select(Edition).order_by(Edition.edition_date.desc(), Edition.id.desc()).limit(limit)
    if mailing_list is not None:
        query = query.where(Edition.list_id == mailing_list.id)
    return list(session.scalars(query))
