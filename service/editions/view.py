"""A draft as its editor sees it: each story with this edition's headline and points, and the stories to add."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.editions.rendering import MAX_POINTS
from service.editions.selection import edition_stories, edition_window, select_stories
from service.models import Edition, Story, utcnow

ALTERNATIVES = 10


@dataclass(frozen=True)
class DraftStory:
    """One story of the draft: what this edition shows of it, and what the editor did to it."""

    story: Story
    title: str
    points: list[str]
    edited: bool
    pinned: bool


@dataclass(frozen=True)
class DraftView:
    """The draft's stories in order, stories the editor could pin in, and the ones they dropped."""

    stories: list[DraftStory]
    alternatives: list[Story]
    dropped: list[Story]


def draft_view(session: Session, settings: Settings, edition: Edition, now: datetime | None = None) -> DraftView:
    """The page's and the API's picture of a draft (also of a frozen edition: then only `stories` matter)."""
    edits = edition.story_edits or {}
    pinned = set(edition.pinned or [])
    rows = []
    for story in edition_stories(session, edition):
        edit = edits.get(str(story.id)) or {}
        points = edit.get("points")
        rows.append(
            DraftStory(
                story,
                edit.get("title") or story.title,
                list(points) if points is not None else [str(p) for p in story.key_points or []][:MAX_POINTS],
                bool(edit),
                story.id in pinned,
            )
        )
    if not edition.is_draft:
        return DraftView(rows, [], [])
    start, end = edition_window(
        edition.mailing_list, edition.edition_date, now or utcnow(), timedelta(hours=settings.story_max_age_hours)
    )
    shown = set(edition.story_ids or []) | set(edition.dropped or [])
    more = select_stories(session, edition.mailing_list, start, end, ALTERNATIVES + len(shown), edition.edition_date)
    dropped_ids = list(edition.dropped or [])
    found = {s.id: s for s in session.scalars(select(Story).where(Story.id.in_(dropped_ids)))} if dropped_ids else {}
    return DraftView(
        rows,
        [story for story in more if story.id not in shown][:ALTERNATIVES],
        [found[i] for i in dropped_ids if i in found],
    )
