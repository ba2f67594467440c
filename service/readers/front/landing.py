"""What the landing and confirmed pages tell a reader: the latest editions' headlines and when the next one comes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from service.editions import archived_editions, send_moment, stories_of_editions
from service.i18n.formats import clock, day_and_month
from service.i18n.locales import DEFAULT
from service.i18n.templating import translate
from service.models import Edition, MailingList, Story


@dataclass(frozen=True)
class LatestEdition:
    """A list's newest published edition with its stories, and the web edition's address."""

    mailing_list: MailingList
    edition: Edition
    stories: list[Story]

    @property
    def url(self) -> str:
        """The web edition (/archive/<list>/<YYYY-MM-DD>)."""
        return f"/archive/{self.mailing_list.slug}/{self.edition.edition_date.isoformat()}"


def latest_editions(session: Session, lists: list[MailingList]) -> list[LatestEdition]:
    """Each list's newest edition that has gone out (lists without one are left out)."""
    found = [(ml, archived_editions(session, ml, limit=1)) for ml in lists]
    editions = [shown[0] for _, shown in found if shown]
    stories = stories_of_editions(session, editions)
    return [LatestEdition(ml, shown[0], stories[shown[0].id]) for ml, shown in found if shown]


def reader_zone(name: str | None, fallback: str) -> ZoneInfo:
    """The reader's zone, or the list's when theirs is unknown."""
    try:
        return ZoneInfo(name or fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def next_edition_at(mailing_list: MailingList, zone_name: str | None, now: datetime) -> datetime:
    """When the list next sends to this reader, in the reader's zone (at its send time there, for local-time lists)."""
    zone = reader_zone(zone_name, mailing_list.timezone)
    today = now.astimezone(ZoneInfo(mailing_list.timezone)).date()
    for offset in range(-1, 3):
        day = today + timedelta(days=offset)
        moment = send_moment(mailing_list, day, zone.key if mailing_list.local_time_delivery else None)
        if moment > now:
            return moment.astimezone(zone)
    raise AssertionError("a daily list always has a send moment within two days")  # pragma: no cover


def spoken_moment(moment: datetime, now: datetime, language: str = DEFAULT) -> str:
    """'today at 07:00', 'tomorrow at 07:00' or 'on Friday 4 December at 07:00', in the moment's own zone."""
    today = now.astimezone(moment.tzinfo).date()
    at = clock(moment, language)
    if moment.date() == today:
        return translate(language, "today at %(time)s", time=at)
    if moment.date() == today + timedelta(days=1):
        return translate(language, "tomorrow at %(time)s", time=at)
    return translate(language, "on %(day)s at %(time)s", day=day_and_month(moment, language), time=at)
