"""The stories table's SQL: hand-written stories, look-ups for admins and pages, and the JSON shape of a story."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session, selectinload

from service.core.errors import InvalidInput, UnknownPage
from service.models import Edition, Item, Story, utcnow
from service.stories.formats import StoryIn, StoryInput

LARGEST_ID = 2**31 - 1  # stories.id is a 32-bit INTEGER on PostgreSQL: a larger id names no story


def upsert_story(session: Session, story: StoryInput) -> tuple[Story, bool]:
    """Store a hand-written story (or update the one under its dedup key) with its sources as items; (row, created)."""
    key = story.dedup_key()
    row = session.scalar(select(Story).where(Story.dedup_key == key))
    created = row is None
    if row is None:
        row = Story(dedup_key=key, received_at=utcnow())
        session.add(row)
    row.title, row.story_date, row.category = story.title, story.story_date, story.category
    row.key_points, row.source_count, row.sources = list(story.key_points), story.source_count, list(story.sources)
    row.point_sources = None  # hand-written points are the story's own words
    row.link, row.origin = story.link, story.origin
    row.origin_ref, row.external_id = story.origin_ref, story.external_id
    row.language, row.hand_written = story.language, True
    row.newest_item_at = row.newest_item_at or row.received_at
    row.updated_at = utcnow()
    session.flush()
    _replace_source_items(session, row, story)
    return row, created


def _replace_source_items(session: Session, row: Story, story: StoryInput) -> None:
    """A hand-written story's sources are its items, so it lists them like any other story."""
    session.execute(delete(Item).where(Item.story_id == row.id))
    published = datetime.combine(story.story_date, time(12), tzinfo=UTC) if story.story_date else row.received_at
    for number, source in enumerate(story.sources):
        basis = f"{row.dedup_key}#{number}:{source.get('publisher')}|{source.get('title')}"
        session.add(
            Item(
                dedup_key=hashlib.sha256(basis.encode("utf-8")).hexdigest(),
                story_id=row.id,
                publisher=str(source.get("publisher") or "")[:300],
                title=str(source.get("title") or "")[:500],
                url=source.get("url"),
                language=story.language,
                category=story.category,
                published_at=published,
                first_seen_at=row.received_at,
                origin=story.origin,
            )
        )
    session.flush()
    session.expire(row, ["items"])


def upsert_stories(session: Session, stories: Iterable[StoryInput], *, commit: bool = True) -> tuple[int, int]:
    """Store many and commit (or leave the commit to the caller, with its audit entry); returns (created, updated)."""
    created = updated = 0
    for story in stories:
        _, is_new = upsert_story(session, story)
        created += is_new
        updated += not is_new
    if commit:
        session.commit()
    return created, updated


def recent_stories(session: Session, limit: int | None = 50) -> list[Story]:
    """The freshest stories first, with their items, for admins."""
    query = (
        select(Story)
        .options(selectinload(Story.items))
        .order_by(Story.newest_item_at.desc().nulls_last(), Story.id.desc())
    )
    return list(session.scalars(query.limit(limit) if limit else query))


def get_story(session: Session, story_id: int) -> Story | None:
    """One story with its items, for its page and `stories show`."""
    return session.scalar(select(Story).options(selectinload(Story.items)).where(Story.id == story_id))


def find_story(session: Session, story_id: int | str) -> Story:
    """The story with this id (digits only), or UnknownPage: a mistyped id names no story, it is no error of ours."""
    text = str(story_id)
    number = int(text) if text.isascii() and text.isdigit() else 0
    story = get_story(session, number) if 0 < number <= LARGEST_ID else None
    if story is None:
        raise UnknownPage(f"There is no story {text[:40]!r}.")
    return story


def story_as_json(story: Story) -> dict[str, Any]:
    """A story as the CLI and the admin API show it: sources one per publisher, and every member item."""
    return {
        "id": story.id,
        "title": story.title,
        "date": story.story_date.isoformat() if story.story_date else None,
        "category": story.category,
        "language": story.language,
        "hand_written": story.hand_written,
        "source_count": story.source_count,
        "key_points": story.points(),
        "sources": [
            {"publisher": s.get("publisher"), "title": s.get("title"), "url": s.get("url")} for s in story.sources or []
        ],
        "items": [
            {
                "publisher": item.publisher,
                "title": item.title,
                "url": item.url,
                "published": item.published_at.isoformat() if item.published_at else None,
            }
            for item in story.items
        ],
        "newest_item_at": story.newest_item_at.isoformat() if story.newest_item_at else None,
        "origin": story.origin,
        "origin_ref": story.origin_ref,
        "received_at": story.received_at.isoformat() if story.received_at else None,
        "updated_at": story.updated_at.isoformat() if story.updated_at else None,
    }


def story_page(
    session: Session, *, limit: int = 50, before: int | None = None, category: str | None = None
) -> list[Story]:
    """A page of stories, freshest first, continuing after story `before` (keyset on newest item, then id)."""
    query = select(Story).order_by(Story.newest_item_at.desc().nulls_last(), Story.id.desc()).limit(limit)
    if category:
        query = query.where(Story.category == category)
    if before is not None:
        mark = session.get(Story, before) if 0 < before <= LARGEST_ID else None
        if mark is None:
            query = query.where(Story.id < min(before, LARGEST_ID))
        elif mark.newest_item_at is None:
            query = query.where(Story.newest_item_at.is_(None), Story.id < mark.id)
        else:
            query = query.where(
                or_(
                    Story.newest_item_at < mark.newest_item_at,
                    Story.newest_item_at.is_(None),
                    and_(Story.newest_item_at == mark.newest_item_at, Story.id < mark.id),
                )
            )
    return list(session.scalars(query))


def story_categories(session: Session) -> list[str]:
    """Every category a story is filed under, for the list's filter."""
    return sorted(session.scalars(select(Story.category).distinct()))


def edit_story(
    session: Session,
    story_id: int | str,
    *,
    title: str | None = None,
    key_points: list[str] | None = None,
    category: str | None = None,
    story_date: date | None = None,
    clear_date: bool = False,
) -> tuple[Story, dict[str, Any]]:
    """Change what a story says; it becomes hand-written, so later items never overwrite its title or points.

    Checked by the same rules as a story taken in as JSON; returns the story and the fields that changed.
    """
    story = find_story(session, story_id)
    wanted = {
        "title": story.title if title is None else title,
        "key_points": list(story.key_points or []) if key_points is None else key_points,
        "category": story.category if category is None else category,
        "date": None if clear_date else (story_date or story.story_date),
    }
    try:
        checked = StoryIn.model_validate(wanted)
    except ValidationError as error:
        raise InvalidInput(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}".removeprefix(": ") for e in error.errors())
        ) from None
    before = {
        "title": story.title,
        "key_points": list(story.key_points or []),
        "category": story.category,
        "date": story.story_date.isoformat() if story.story_date else None,
    }
    story.title, story.key_points, story.category = checked.title, list(checked.key_points), checked.category
    story.story_date, story.hand_written, story.updated_at = checked.story_date, True, utcnow()
    if key_points is not None and list(checked.key_points) != before["key_points"]:
        story.point_sources = None  # an editor's points are no longer the publishers' sentences
    after = {
        "title": story.title,
        "key_points": story.key_points,
        "category": story.category,
        "date": story.story_date.isoformat() if story.story_date else None,
    }
    session.flush()
    return story, {field: after[field] for field in after if after[field] != before[field]}


@dataclass(frozen=True)
class FrozenEdition:
    """An edition already built with a story: its email and archive page keep the story as rendered."""

    id: int
    list_id: int
    edition_date: date
    send_status: str


def editions_carrying(session: Session, story_id: int) -> list[FrozenEdition]:
    """Built editions that name this story (story_ids is JSON, so the filter runs here, over the ids only)."""
    rows = session.execute(
        select(Edition.id, Edition.list_id, Edition.edition_date, Edition.send_status, Edition.story_ids).order_by(
            Edition.edition_date.desc()
        )
    ).all()
    return [
        FrozenEdition(row.id, row.list_id, row.edition_date, row.send_status)
        for row in rows
        if story_id in (row.story_ids or [])
    ]


def delete_story(session: Session, story_id: int | str) -> tuple[Story, list[FrozenEdition]]:
    """Delete a story and its items; editions already built keep their rendered HTML (they are frozen)."""
    story = find_story(session, story_id)
    frozen = editions_carrying(session, story.id)
    session.execute(delete(Item).where(Item.story_id == story.id))
    session.execute(delete(Story).where(Story.id == story.id))
    session.expunge(story)
    return story, frozen
