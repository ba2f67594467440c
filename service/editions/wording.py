"""An editor's words in a draft: a story's headline and key points for this edition, and the introduction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.core.config import Settings
from service.core.errors import InvalidInput
from service.editions import Choices
from service.editions.editing import Editor, Outcome, in_edition, open_for_edit, save, story_or_error
from service.editions.intro import clean_intro
from service.editions.rendering import MAX_POINTS  # the email shows at most this many; so may an editor

MAX_TITLE, MAX_POINT = 300, 500


def edit_story(
    session: Session,
    settings: Settings,
    edition_id: int,
    story_id: int,
    editor: Editor,
    *,
    title: str | None,
    points: list[str] | None,
    expected_version: int | None = None,
) -> Outcome:
    """This edition's headline and key points for a story (empty title or None points: the story's own)."""
    edition = open_for_edit(session, edition_id, expected_version)
    in_edition(edition, story_id)
    story = story_or_error(session, story_id)
    title = " ".join((title or "").split())
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"the headline is {len(title)} characters long; at most {MAX_TITLE}")
    cleaned = None if points is None else [" ".join(p.split()) for p in points if p.strip()]
    if cleaned is not None and (len(cleaned) > MAX_POINTS or any(len(p) > MAX_POINT for p in cleaned)):
        raise InvalidInput(f"at most {MAX_POINTS} key points of at most {MAX_POINT} characters each")
    edit = {
        **({"title": title} if title and title != story.title else {}),
        **({"points": cleaned} if cleaned is not None and cleaned != list(story.key_points or [])[:MAX_POINTS] else {}),
    }
    choices = Choices.of(edition)
    if edit:
        choices.story_edits[str(story_id)] = edit
    else:
        choices.story_edits.pop(str(story_id), None)
    return save(
        session,
        settings,
        edition,
        choices,
        editor,
        "edition.edit_story",
        {"story_id": story_id, **edit, "original_title": story.title},
        f"“{title or story.title}” saved.",
    )


def set_intro(
    session: Session,
    settings: Settings,
    edition_id: int,
    text: str,
    editor: Editor,
    expected_version: int | None = None,
) -> Outcome:
    """The introduction above the stories (plain text with links; empty: none)."""
    edition = open_for_edit(session, edition_id, expected_version)
    choices = Choices.of(edition)
    choices.intro = clean_intro(text)
    return save(
        session,
        settings,
        edition,
        choices,
        editor,
        "edition.intro",
        {"intro": choices.intro[:1000]},
        "Introduction saved." if choices.intro else "Introduction removed.",
    )
