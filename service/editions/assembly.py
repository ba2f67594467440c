"""A draft's stories from the current selection and the editor's choices (pinned, dropped, order, edits)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.editions.selection import select_stories
from service.models import Edition, MailingList, Story


@dataclass
class Choices:
    """What an editor decided about one edition; applied again at every reassembly."""

    intro: str = ""
    story_edits: dict[str, dict] = field(default_factory=dict)
    pinned: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    arrangement: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, edition: Edition | None) -> Choices:
        """The choices stored on an edition (none for a new one); copies, so changing them changes no row."""
        if edition is None:
            return cls()
        return cls(
            intro=edition.intro or "",
            story_edits={k: dict(v) for k, v in (edition.story_edits or {}).items()},
            pinned=list(edition.pinned or []),
            dropped=list(edition.dropped or []),
            arrangement=list(edition.arrangement or []),
        )

    def columns(self) -> dict:
        """The edition columns that hold them."""
        return {
            "intro": self.intro,
            "story_edits": self.story_edits,
            "pinned": self.pinned,
            "dropped": self.dropped,
            "arrangement": self.arrangement,
        }


def choose(
    session: Session,
    mailing_list: MailingList,
    choices: Choices,
    start: datetime,
    end: datetime,
    cap: int,
    day: date,
    demo: bool = False,
) -> list[Story]:
    """Pinned stories always, then the selection's best without the dropped ones, up to the cap, in the editor's order.

    Stories the editor has not placed keep the selection's order after those placed.
    """
    dropped = set(choices.dropped)
    pinned_ids = [story_id for story_id in choices.pinned if story_id not in dropped]
    found = {s.id: s for s in session.scalars(select(Story).where(Story.id.in_(pinned_ids)))} if pinned_ids else {}
    pinned = [found[story_id] for story_id in pinned_ids if story_id in found]
    taken = {story.id for story in pinned} | dropped
    candidates = select_stories(session, mailing_list, start, end, cap + len(taken), day, demo=demo)
    room = max(cap - len(pinned), 0)
    chosen = pinned + [story for story in candidates if story.id not in taken][:room]
    place = {story_id: n for n, story_id in enumerate(choices.arrangement)}
    return sorted(chosen, key=lambda story: place.get(story.id, len(place)))


def render(settings: Settings, mailing_list: MailingList, day: date, stories: list[Story], choices: Choices):
    """The edition's subject, HTML and text with the editor's introduction and edits."""
    from service.editions.rendering import render_edition  # mjml and Jinja: only where an edition is built

    return render_edition(settings, mailing_list, day, stories, intro=choices.intro, edits=choices.story_edits)
