"""A list's edition for a day: a draft (re)assembled from the current stories until it starts to send, then frozen.

One home for editions: selection (which stories may go), assembly (the editor's choices applied), drafts
(the lifecycle: held, waiting, approved), editing (the editor's use cases), intro, and audience (send-now facts).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.editions.assembly import Choices, choose, render
from service.editions.selection import (
    DEMO_ORIGIN,
    PUBLISHED,
    archived_editions,
    edition_stories,
    edition_window,
    get_edition,
    neighbour_editions,
    published_edition,
    select_stories,
    send_moment,
    stories_of_editions,
)
from service.models import Edition, EditionStatus, MailingList, utcnow
from service.stories.merging import lock_for_clustering

__all__ = [
    "DEMO_ORIGIN",
    "PUBLISHED",
    "Choices",
    "archived_editions",
    "build_edition",
    "edition_stories",
    "edition_window",
    "get_edition",
    "neighbour_editions",
    "published_edition",
    "reassemble",
    "select_stories",
    "send_moment",
    "stories_of_editions",
]


def build_edition(
    session: Session,
    *,
    settings: Settings,
    mailing_list: MailingList,
    day: date,
    now: datetime | None = None,
    freeze: bool = True,
    store: bool = True,
    demo: bool = False,
    by: str | None = None,
) -> Edition | None:
    """The day's edition from the current stories; None when there is nothing to send.

    A draft is (re)assembled and stored (store=False: a preview, nothing written); freeze=True also fixes its
    content, as the send does. A frozen or started edition is returned as it is.
    """
    existing = get_edition(session, mailing_list, day)
    if existing is not None and not existing.is_draft:
        return existing
    now = now or utcnow()
    if freeze and store:
        lock_for_clustering(session)  # a poll that merges stories waits, or has committed: we freeze what it left
    if existing is not None:
        if not store:
            return _assembled(session, settings, mailing_list, day, now, Choices.of(existing), demo, existing)
        reassemble(session, settings, existing, now=now, freeze_by=(by or "") if freeze else None, demo=demo)
        session.commit()
        return existing if existing.story_ids or not settings.skip_empty_editions else None
    edition = _assembled(session, settings, mailing_list, day, now, Choices(), demo)
    if not edition.story_ids and settings.skip_empty_editions:
        return None
    if not store:
        edition.id = 0
        return edition
    if freeze:
        edition.frozen_at, edition.frozen_by = now, by
    try:
        with session.begin_nested():
            session.add(edition)
        session.commit()
    except IntegrityError:
        session.rollback()  # another process built it first: theirs is the edition
        return get_edition(session, mailing_list, day)
    return edition


def _assembled(
    session: Session,
    settings: Settings,
    mailing_list: MailingList,
    day: date,
    now: datetime,
    choices: Choices,
    demo: bool,
    edition: Edition | None = None,
) -> Edition:
    """A new, unsaved edition object with the day's stories and the editor's choices, rendered."""
    start, end = edition_window(mailing_list, day, now, timedelta(hours=settings.story_max_age_hours))
    stories = choose(session, mailing_list, choices, start, end, settings.edition_max_stories, day, demo)
    rendered = render(settings, mailing_list, day, stories, choices)
    built = Edition(
        list_id=mailing_list.id,
        edition_date=day,
        story_ids=[s.id for s in stories],
        window_start=start,
        window_end=end,
        subject=rendered.subject,
        preheader=rendered.preheader,
        placeholder_key=rendered.placeholder_key,
        html=rendered.html,
        text=rendered.text,
        send_status=EditionStatus.draft,
        version=edition.version if edition else 1,
        assembled_at=now,
        **choices.columns(),
    )
    if edition is not None:
        built.id = edition.id
    return built


def reassemble(
    session: Session,
    settings: Settings,
    edition: Edition,
    *,
    now: datetime,
    choices: Choices | None = None,
    freeze_by: str | None = None,
    demo: bool = False,
) -> bool:
    """Assemble a draft again and store it, with new `choices` (an editor's change: version + 1) or its own.

    One guarded UPDATE: it only lands on the version read and while the edition is still a draft, so an
    editor who saved meanwhile, or a send that started, wins; False then. The caller's object is refreshed;
    the caller commits (with its audit entry).
    """
    if freeze_by is not None:
        lock_for_clustering(session)  # the stories it freezes are not merged away under it
    mailing_list = edition.mailing_list
    fresh = _assembled(
        session, settings, mailing_list, edition.edition_date, now, choices or Choices.of(edition), demo, edition
    )
    values = {
        name: getattr(fresh, name)
        for name in (
            "story_ids",
            "window_start",
            "window_end",
            "subject",
            "preheader",
            "placeholder_key",
            "html",
            "text",
            "assembled_at",
            "intro",
            "story_edits",
            "pinned",
            "dropped",
            "arrangement",
        )
    }
    if choices is not None:
        values["version"] = edition.version + 1
    if freeze_by is not None:
        values |= {"frozen_at": now, "frozen_by": freeze_by or None}
    result = cast(
        CursorResult,
        session.execute(
            update(Edition)
            .where(
                Edition.id == edition.id,
                Edition.version == edition.version,
                Edition.send_status == EditionStatus.draft,
                Edition.frozen_at.is_(None),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        ),
    )
    landed = result.rowcount == 1
    session.refresh(edition)
    return landed
