"""Which stories a list's edition for a day may take, and which editions are public (SQL for editions lives here)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from service.models import Edition, EditionStatus, MailingList, Story, as_utc

DEMO_ORIGIN = "demo"  # the story `make run` shows off: it belongs to the demo edition only


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


def published_edition(session: Session, mailing_list: MailingList, day: date) -> Edition | None:
    """The list's edition of that day if it has gone out; a draft or a cancelled one is not public."""
    edition = get_edition(session, mailing_list, day)
    return edition if edition is not None and edition.send_status in PUBLISHED else None


def edition_window(
    mailing_list: MailingList, day: date, now: datetime, max_age: timedelta
) -> tuple[datetime, datetime]:
    """Stories whose newest item is at most `max_age` old, up to now (or the day's send time, for a past day)."""
    now = as_utc(now).astimezone(UTC)  # SQLite compares the stored text: every bound must be UTC
    past_day = day < now.astimezone(ZoneInfo(mailing_list.timezone)).date()
    end = min(now, send_moment(mailing_list, day)) if past_day else now
    return end - max_age, end


def select_stories(
    session: Session,
    mailing_list: MailingList,
    start: datetime,
    end: datetime,
    cap: int,
    day: date | None = None,
    demo: bool = False,
) -> list[Story]:
    """Fresh stories of the list's categories and languages that it has not sent yet: most sources first, then newest.

    Fresh means the story's newest item is newer than `start` (the edition's maximum age) and not after `end`;
    two stories with near-identical headlines never go out together. The demo story goes only into the demo edition.
    """
    query = select(Story).where(Story.newest_item_at > start, Story.newest_item_at <= end)
    if not demo:
        query = query.where(Story.origin != DEMO_ORIGIN)
    if mailing_list.categories:
        query = query.where(Story.category.in_(mailing_list.categories))
    if mailing_list.languages:
        query = query.where(or_(Story.language.is_(None), Story.language.in_(mailing_list.languages)))
    from service.stories.clustering import near_duplicate_titles  # numpy and the models: only where stories are chosen

    sent = _already_sent(session, mailing_list, day)
    query = query.order_by(Story.source_count.desc(), Story.newest_item_at.desc(), Story.id.desc())
    chosen: list[Story] = []
    for story in session.scalars(query.limit(cap * 5 + len(sent))):
        if story.id in sent or any(near_duplicate_titles(story.title, other.title) for other in chosen):
            continue
        chosen.append(story)
        if len(chosen) == cap:
            break
    return chosen


def _already_sent(session: Session, mailing_list: MailingList, day: date | None) -> set[int]:
    """Stories the list's earlier editions (of the last fortnight) carried: a story goes out once."""
    query = select(Edition.story_ids).where(
        Edition.list_id == mailing_list.id, Edition.send_status.in_((*PUBLISHED, EditionStatus.paused))
    )
    if day is not None:
        query = query.where(Edition.edition_date < day, Edition.edition_date >= day - timedelta(days=14))
    return {story_id for ids in session.scalars(query) for story_id in ids or []}


def edition_stories(session: Session, edition: Edition) -> list[Story]:
    """The frozen stories of an edition, in edition order."""
    rows = {s.id: s for s in session.scalars(select(Story).where(Story.id.in_(edition.story_ids)))}
    return [rows[i] for i in edition.story_ids if i in rows]


def stories_of_editions(session: Session, editions: list[Edition]) -> dict[int, list[Story]]:
    """Each edition's stories in edition order, in one query, for the archive's listing."""
    wanted = {story_id for edition in editions for story_id in edition.story_ids or []}
    rows = {s.id: s for s in session.scalars(select(Story).where(Story.id.in_(wanted)))} if wanted else {}
    return {edition.id: [rows[i] for i in edition.story_ids or [] if i in rows] for edition in editions}


PUBLISHED = (EditionStatus.sending, EditionStatus.complete)  # gone out (or going): drafts and cancelled never show


def archived_editions(
    session: Session, mailing_list: MailingList | None = None, limit: int = 100, offset: int = 0
) -> list[Edition]:
    """Editions that have gone out, newest first, for the archive (a page of them) and its feed."""
    query = (
        select(Edition)
        .where(Edition.send_status.in_(PUBLISHED))
        .order_by(Edition.edition_date.desc(), Edition.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if mailing_list is not None:
        query = query.where(Edition.list_id == mailing_list.id)
    return list(session.scalars(query))


def neighbour_editions(session: Session, edition: Edition) -> tuple[Edition | None, Edition | None]:
    """The published editions of the same list just before and just after this one, for the page's links."""
    same_list = select(Edition).where(Edition.list_id == edition.list_id, Edition.send_status.in_(PUBLISHED))
    older = session.scalar(
        same_list.where(Edition.edition_date < edition.edition_date).order_by(Edition.edition_date.desc()).limit(1)
    )
    newer = session.scalar(
        same_list.where(Edition.edition_date > edition.edition_date).order_by(Edition.edition_date.asc()).limit(1)
    )
    return older, newer
