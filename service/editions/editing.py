"""What an editor does to a draft's stories (drop, pin, reorder), audited, version-checked; the shared steps.

The admin pages, the JSON API and the CLI call these alone (wording.py and approval.py the rest). Each
change reads the draft at the version the editor saw, applies the choice, assembles the draft again and
stores it only if nobody saved in between (else "changed since you opened it"); its audit entry commits
with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from service.admin import audit
from service.core.config import Settings
from service.core.errors import Conflict, InvalidInput, UnknownPage
from service.editions import Choices, reassemble
from service.models import Edition, Story, utcnow


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
        raise Conflict(
            f"edition {edition.id} changed since you opened it (version {expected_version}, now "
            f"{edition.version}): reload it and make your change again"
        )
    return edition


def save(
    session: Session,
    settings: Settings,
    edition: Edition,
    choices: Choices,
    editor: Editor,
    action: str,
    details: dict,
    message: str,
    now: datetime | None = None,
) -> Outcome:
    """Assemble with the new choices and store them with their audit entry, or refuse if someone saved first."""
    seen = edition.version
    if not reassemble(session, settings, edition, now=now or utcnow(), choices=choices):
        session.rollback()
        raise Conflict(f"edition {edition.id} changed since you opened it: reload it and make your change again")
    audit.record(
        session,
        actor=editor.name,
        action=action,
        object_type="edition",
        object_id=edition.id,
        details={
            "list": edition.mailing_list.slug,
            "date": edition.edition_date.isoformat(),
            "version": seen + 1,
            **details,
        },
        ip=editor.ip,
    )
    session.commit()
    session.refresh(edition)
    return Outcome(edition, message)


def story_or_error(session: Session, story_id: int) -> Story:
    """A story by id, or a clear error."""
    story = session.get(Story, story_id) if 0 < story_id < 2**31 else None
    if story is None:
        raise InvalidInput(f"there is no story {story_id}")
    return story


def in_edition(edition: Edition, story_id: int) -> None:
    """Refuse a story the draft does not carry."""
    if story_id not in (edition.story_ids or []):
        raise InvalidInput(f"story {story_id} is not in edition {edition.id}")


def drop(
    session: Session,
    settings: Settings,
    edition_id: int,
    story_id: int,
    editor: Editor,
    expected_version: int | None = None,
) -> Outcome:
    """Take a story out of this edition for good (a later reassembly does not bring it back)."""
    edition = open_for_edit(session, edition_id, expected_version)
    in_edition(edition, story_id)
    title = story_or_error(session, story_id).title
    choices = Choices.of(edition)
    choices.dropped.append(story_id)
    choices.pinned = [i for i in choices.pinned if i != story_id]
    choices.arrangement = [i for i in choices.arrangement if i != story_id]
    return save(
        session,
        settings,
        edition,
        choices,
        editor,
        "edition.drop",
        {"story_id": story_id, "title": title},
        f"Dropped “{title}”.",
    )


def pin(
    session: Session,
    settings: Settings,
    edition_id: int,
    story_id: int,
    editor: Editor,
    expected_version: int | None = None,
) -> Outcome:
    """Keep a story in this edition whatever the selection says (one not in it yet comes first)."""
    edition = open_for_edit(session, edition_id, expected_version)
    title = story_or_error(session, story_id).title
    choices = Choices.of(edition)
    if story_id not in choices.pinned:
        choices.pinned.append(story_id)
    choices.dropped = [i for i in choices.dropped if i != story_id]
    if story_id not in (edition.story_ids or []):
        choices.arrangement = [story_id, *(choices.arrangement or edition.story_ids or [])]
    return save(
        session,
        settings,
        edition,
        choices,
        editor,
        "edition.pin",
        {"story_id": story_id, "title": title},
        f"Pinned “{title}”.",
    )


def unpin(
    session: Session,
    settings: Settings,
    edition_id: int,
    story_id: int,
    editor: Editor,
    expected_version: int | None = None,
) -> Outcome:
    """Let the selection decide about a story again."""
    edition = open_for_edit(session, edition_id, expected_version)
    choices = Choices.of(edition)
    choices.pinned = [i for i in choices.pinned if i != story_id]
    return save(
        session,
        settings,
        edition,
        choices,
        editor,
        "edition.unpin",
        {"story_id": story_id},
        f"Story {story_id} unpinned.",
    )


def reorder(
    session: Session,
    settings: Settings,
    edition_id: int,
    order: list[int],
    editor: Editor,
    expected_version: int | None = None,
) -> Outcome:
    """Put the edition's stories in the editor's order (every story once)."""
    edition = open_for_edit(session, edition_id, expected_version)
    current = list(edition.story_ids or [])
    if sorted(order) != sorted(current):
        raise InvalidInput(f"the order must name each of the edition's stories once: {current}, got {order[:50]}")
    choices = Choices.of(edition)
    choices.arrangement = list(order)
    return save(
        session,
        settings,
        edition,
        choices,
        editor,
        "edition.reorder",
        {"from": current, "to": list(order)},
        "Stories reordered.",
    )


def move(
    session: Session,
    settings: Settings,
    edition_id: int,
    story_id: int,
    step: int,
    editor: Editor,
    expected_version: int | None = None,
) -> Outcome:
    """One place up (step -1) or down (+1): the pages' buttons, through reorder."""
    edition = open_for_edit(session, edition_id, expected_version)
    in_edition(edition, story_id)
    order = list(edition.story_ids)
    at = order.index(story_id)
    to = min(max(at + (1 if step > 0 else -1), 0), len(order) - 1)
    order.insert(to, order.pop(at))
    return reorder(session, settings, edition_id, order, editor, edition.version)
