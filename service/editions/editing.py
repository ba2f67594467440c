"""What an editor does to a draft (drop, pin, reorder, edit a story, introduction, approve), audited, version-checked.

The admin pages, the JSON API and the CLI call these alone. Each change reads the draft at the version
the editor saw, applies the choice, assembles the draft again and stores it only if nobody saved in
between (else "changed since you opened it"); its audit entry commits with it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from service.admin import audit
from service.config import Settings
from service.editions import Choices, reassemble
from service.editions.intro import clean_intro
from service.errors import Conflict, InvalidInput, UnknownPage
from service.models import Edition, Story, utcnow
from service.rendering import MAX_POINTS  # the email shows at most this many; so may an editor

MAX_TITLE, MAX_POINT = 300, 500
DrainStarter = Callable[[int, int], None]


@dataclass(frozen=True)
class Editor:
    """Who makes the change, as the audit log names them."""

    name: str
    ip: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What a change did: the edition afterwards, one line for the editor, and readers planned if it started."""

    edition: Edition
    message: str
    planned: int | None = None


def open_for_edit(session: Session, edition_id: int, expected_version: int | None) -> Edition:
    """The draft at the version the editor saw; a started, frozen or since-changed edition is refused (409)."""
    edition = session.get(Edition, edition_id) if 0 < edition_id < 2**31 else None
    if edition is None:
        raise UnknownPage(f"There is no edition {edition_id}.")
    if not edition.is_draft:
        why = "was approved" if edition.send_status == "draft" else f"is {edition.send_status}"
        raise Conflict(f"edition {edition.id} {why}: its content no longer changes")
    if expected_version is not None and edition.version != expected_version:
        raise Conflict(f"edition {edition.id} changed since you opened it (version {expected_version}, now "
                       f"{edition.version}): reload it and make your change again")
    return edition


def _save(session: Session, settings: Settings, edition: Edition, choices: Choices, editor: Editor, action: str,
          details: dict, message: str, now: datetime | None = None) -> Outcome:
    """Assemble with the new choices and store them with their audit entry, or refuse if someone saved first."""
    seen = edition.version
    if not reassemble(session, settings, edition, now=now or utcnow(), choices=choices):
        session.rollback()
        raise Conflict(f"edition {edition.id} changed since you opened it: reload it and make your change again")
    audit.record(session, actor=editor.name, action=action, object_type="edition", object_id=edition.id,
                 details={"list": edition.mailing_list.slug, "date": edition.edition_date.isoformat(),
                          "version": seen + 1, **details}, ip=editor.ip)
    session.commit()
    session.refresh(edition)
    return Outcome(edition, message)


def _story(session: Session, story_id: int) -> Story:
    """A story by id, or a clear error."""
    story = session.get(Story, story_id) if 0 < story_id < 2**31 else None
    if story is None:
        raise InvalidInput(f"there is no story {story_id}")
    return story


def _in_edition(edition: Edition, story_id: int) -> None:
    """Refuse a story the draft does not carry."""
    if story_id not in (edition.story_ids or []):
        raise InvalidInput(f"story {story_id} is not in edition {edition.id}")


def drop(session: Session, settings: Settings, edition_id: int, story_id: int, editor: Editor,
         expected_version: int | None = None) -> Outcome:
    """Take a story out of this edition for good (a later reassembly does not bring it back)."""
    edition = open_for_edit(session, edition_id, expected_version)
    _in_edition(edition, story_id)
    title = _story(session, story_id).title
    choices = Choices.of(edition)
    choices.dropped.append(story_id)
    choices.pinned = [i for i in choices.pinned if i != story_id]
    choices.arrangement = [i for i in choices.arrangement if i != story_id]
    return _save(session, settings, edition, choices, editor, "edition.drop", {"story_id": story_id, "title": title},
                 f"Dropped “{title}”.")


def pin(session: Session, settings: Settings, edition_id: int, story_id: int, editor: Editor,
        expected_version: int | None = None) -> Outcome:
    """Keep a story in this edition whatever the selection says (one not in it yet comes first)."""
    edition = open_for_edit(session, edition_id, expected_version)
    title = _story(session, story_id).title
    choices = Choices.of(edition)
    if story_id not in choices.pinned:
        choices.pinned.append(story_id)
    choices.dropped = [i for i in choices.dropped if i != story_id]
    if story_id not in (edition.story_ids or []):
        choices.arrangement = [story_id, *(choices.arrangement or edition.story_ids or [])]
    return _save(session, settings, edition, choices, editor, "edition.pin", {"story_id": story_id, "title": title},
                 f"Pinned “{title}”.")


def unpin(session: Session, settings: Settings, edition_id: int, story_id: int, editor: Editor,
          expected_version: int | None = None) -> Outcome:
    """Let the selection decide about a story again."""
    edition = open_for_edit(session, edition_id, expected_version)
    choices = Choices.of(edition)
    choices.pinned = [i for i in choices.pinned if i != story_id]
    return _save(session, settings, edition, choices, editor, "edition.unpin", {"story_id": story_id},
                 f"Story {story_id} unpinned.")


def reorder(session: Session, settings: Settings, edition_id: int, order: list[int], editor: Editor,
            expected_version: int | None = None) -> Outcome:
    """Put the edition's stories in the editor's order (every story once)."""
    edition = open_for_edit(session, edition_id, expected_version)
    current = list(edition.story_ids or [])
    if sorted(order) != sorted(current):
        raise InvalidInput(f"the order must name each of the edition's stories once: {current}, got {order[:50]}")
    choices = Choices.of(edition)
    choices.arrangement = list(order)
    return _save(session, settings, edition, choices, editor, "edition.reorder",
                 {"from": current, "to": list(order)}, "Stories reordered.")


def move(session: Session, settings: Settings, edition_id: int, story_id: int, step: int, editor: Editor,
         expected_version: int | None = None) -> Outcome:
    """One place up (step -1) or down (+1): the pages' buttons, through reorder."""
    edition = open_for_edit(session, edition_id, expected_version)
    _in_edition(edition, story_id)
    order = list(edition.story_ids)
    at = order.index(story_id)
    to = min(max(at + (1 if step > 0 else -1), 0), len(order) - 1)
    order.insert(to, order.pop(at))
    return reorder(session, settings, edition_id, order, editor, edition.version)


def edit_story(session: Session, settings: Settings, edition_id: int, story_id: int, editor: Editor, *,
               title: str | None, points: list[str] | None, expected_version: int | None = None) -> Outcome:
    """This edition's headline and key points for a story (empty title or None points: the story's own)."""
    edition = open_for_edit(session, edition_id, expected_version)
    _in_edition(edition, story_id)
    story = _story(session, story_id)
    title = " ".join((title or "").split())
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"the headline is {len(title)} characters long; at most {MAX_TITLE}")
    cleaned = None if points is None else [" ".join(p.split()) for p in points if p.strip()]
    if cleaned is not None and (len(cleaned) > MAX_POINTS or any(len(p) > MAX_POINT for p in cleaned)):
        raise InvalidInput(f"at most {MAX_POINTS} key points of at most {MAX_POINT} characters each")
    edit = {**({"title": title} if title and title != story.title else {}),
            **({"points": cleaned} if cleaned is not None and cleaned != list(story.key_points or [])[:MAX_POINTS]
               else {})}
    choices = Choices.of(edition)
    if edit:
        choices.story_edits[str(story_id)] = edit
    else:
        choices.story_edits.pop(str(story_id), None)
    return _save(session, settings, edition, choices, editor, "edition.edit_story",
                 {"story_id": story_id, **edit, "original_title": story.title}, f"“{title or story.title}” saved.")


def set_intro(session: Session, settings: Settings, edition_id: int, text: str, editor: Editor,
              expected_version: int | None = None) -> Outcome:
    """The introduction above the stories (plain text with links; empty: none)."""
    edition = open_for_edit(session, edition_id, expected_version)
    choices = Choices.of(edition)
    choices.intro = clean_intro(text)
    return _save(session, settings, edition, choices, editor, "edition.intro", {"intro": choices.intro[:1000]},
                 "Introduction saved." if choices.intro else "Introduction removed.")


def approve(session: Session, settings: Settings, edition_id: int, editor: Editor, *,
            expected_version: int | None = None, now: datetime | None = None,
            start_drains: DrainStarter | None = None) -> Outcome:
    """Freeze now: the content is final; a held edition past its send time goes out at once."""
    from service.delivery.schedule import start_approved  # the ledger: only when an edition is approved

    now = now or utcnow()
    edition = open_for_edit(session, edition_id, expected_version)
    if not reassemble(session, settings, edition, now=now, freeze_by=editor.name):
        session.rollback()
        raise Conflict(f"edition {edition.id} changed since you opened it: reload it and approve it again")
    audit.record(session, actor=editor.name, action="edition.approve", object_type="edition", object_id=edition.id,
                 details={"list": edition.mailing_list.slug, "date": edition.edition_date.isoformat(),
                          "version": edition.version, "stories": list(edition.story_ids or [])}, ip=editor.ip)
    session.commit()
    planned = start_approved(settings, session, edition, now)
    session.refresh(edition)
    if planned is not None and start_drains is not None:
        start_drains(edition.id, settings.send_parallelism)
    message = (f"Approved and frozen; sending to {planned:,} readers now." if planned is not None
               else "Approved and frozen; it goes out at its send time.")
    return Outcome(edition, message, planned)
