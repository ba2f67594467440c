"""Stored stories a poll reshapes: two that tell one happening merge (the older keeps its id, drafts follow it), a
drifted one loses its strays; the lock that keeps two polls from doing it at once."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import delete, or_, select, text, update
from sqlalchemy.orm import Session

from service.models import Edition, EditionStatus, Item, Story


def lock_for_clustering(session: Session) -> None:
    """One ingest at a time, until commit: two concurrent polls must never split an event into two stories."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(72001)"))
    else:  # SQLite: a write statement takes the database's write lock for the rest of the transaction
        session.execute(text("UPDATE stories SET id = id WHERE 1 = 0"))


def unmergeable(session: Session, story_ids: Collection[int]) -> set[int]:
    """Of these stories, those that must keep their id and items: hand-written ones (an editor's words) and those
    in an edition that is no longer a draft (sent, sending or approved: its readers may follow the story's page)."""
    if not story_ids:
        return set()
    wanted = set(story_ids)
    # Lock the open drafts first: a freeze waits for this poll, or it has committed and the read below sees it, so
    # a story is never merged away under an edition frozen in between (SQLite: this poll already holds the writer).
    session.execute(select(Edition.id).where(Edition.send_status == EditionStatus.draft).with_for_update())
    ordered = sorted(wanted)
    frozen: set[int] = set()
    for start in range(0, len(ordered), 500):  # SQLite caps the parameters of one statement
        chunk = ordered[start : start + 500]
        frozen.update(session.scalars(select(Story.id).where(Story.id.in_(chunk), Story.hand_written.is_(True))))
    carried = session.scalars(
        select(Edition.story_ids).where(or_(Edition.send_status != EditionStatus.draft, Edition.frozen_at.is_not(None)))
    )
    for ids in carried:
        frozen.update(wanted.intersection(ids or []))
    return frozen


def merge_stories(session: Session, groups: Iterable[Collection[int]]) -> dict[int, int]:
    """Move each group's items to its oldest story and delete the others; returns {merged-away id: kept id}.

    The drafts that name a merged-away story follow the kept one, so nothing points at a story that is gone.
    """
    into: dict[int, int] = {}
    for group in groups:
        oldest, *others = sorted(group)  # ids grow with time: the smallest is the story readers may have seen first
        into.update(dict.fromkeys(others, oldest))
    if not into:
        return into
    for gone, kept in into.items():
        session.execute(update(Item).where(Item.story_id == gone).values(story_id=kept))
    _follow_in_drafts(session, into)
    session.execute(delete(Story).where(Story.id.in_(list(into))))
    session.expire_all()
    return into


def lost_items(session: Session, story_ids: Collection[int]) -> None:
    """An open draft naming a story that lost items (a split) goes up a version: an editor's page that read the story
    as it was must not save over it unseen."""
    for edition in _open_drafts(session):
        if _named(edition) & set(story_ids):
            edition.version += 1
    session.flush()


def _open_drafts(session: Session) -> list[Edition]:
    """The drafts a poll may still reshape: not frozen."""
    query = select(Edition).where(Edition.send_status == EditionStatus.draft, Edition.frozen_at.is_(None))
    return list(session.scalars(query))


def _named(edition: Edition) -> set[int]:
    """Every story a draft mentions: chosen, pinned, dropped, placed or edited."""
    named = set(edition.story_ids or []) | set(edition.pinned or []) | set(edition.dropped or [])
    return named | set(edition.arrangement or []) | {int(k) for k in edition.story_edits or {} if k.isdigit()}


def _follow_in_drafts(session: Session, into: dict[int, int]) -> None:
    """A draft's choices about a merged-away story become choices about the kept one: a pin pins it, a place in the
    editor's order holds it, an edit applies to it unless it has its own; a drop is forgotten (the kept story is
    more than what was dropped). The draft's version goes up: a save or a freeze based on what it was fails."""
    for edition in _open_drafts(session):
        if not _named(edition) & into.keys():
            continue
        edition.story_ids = _renamed(edition.story_ids, into)
        edition.pinned, edition.arrangement = _renamed(edition.pinned, into), _renamed(edition.arrangement, into)
        edition.dropped = [i for i in edition.dropped or [] if i not in into]
        edits = dict(edition.story_edits or {})
        for gone, kept in into.items():
            edit = edits.pop(str(gone), None)
            if edit is not None:
                edits.setdefault(str(kept), edit)
        edition.story_edits = edits
        edition.version += 1  # an editor's page (or a freeze) that read the draft before must not overwrite this
    session.flush()


def _renamed(ids: list | None, into: dict[int, int]) -> list[int]:
    """The ids with merged-away stories replaced by the kept ones, each once, in their first place."""
    return list(dict.fromkeys(into.get(i, i) for i in ids or []))
