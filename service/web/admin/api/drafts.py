"""Admin JSON API for draft editions: read one, change it (version-checked: 409 if someone saved first), approve."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.core.errors import InvalidInput
from service.delivery import actions, approval
from service.delivery.audience import SendFacts, send_facts
from service.editions import editing, wording
from service.editions.drafts import open_draft, set_send_mode
from service.editions.view import draft_view
from service.lists.rules import SLUG
from service.models import Edition, utcnow
from service.web.admin.auth import readable_by_viewers
from service.web.admin.edition_actions import drain_starter, list_today
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep, SettingsDep
from service.web.openapi import REASONS, ErrorBody

router = APIRouter()
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ErrorBody, "description": REASONS[409]}}
Slug = Annotated[str, Path(pattern=SLUG.pattern, description="The list's slug, e.g. world-news")]
Day = date
Version = Field(None, ge=1, description="The draft's version you read; a save after someone else's answers 409")


class DraftStoryOut(BaseModel):
    """One story as this edition shows it."""

    id: int
    title: str
    points: list[str]
    edited: bool
    pinned: bool


class StoryRef(BaseModel):
    """A story to add or put back."""

    id: int
    title: str


class SendFactsOut(BaseModel):
    """What "Send now" says before anything is sent."""

    readers: int
    button: str
    question: str
    warnings: list[str]


class DraftOut(BaseModel):
    """A draft (or a frozen edition) with its stories, the editor's introduction and what sending would do."""

    edition_id: int
    list_slug: str
    date: Day
    send_status: str
    editable: bool
    frozen_by: str | None
    version: int
    intro: str
    stories: list[DraftStoryOut]
    alternatives: list[StoryRef]
    dropped: list[StoryRef]
    send: SendFactsOut | None
    message: str = ""


class VersionIn(BaseModel):
    """The version the caller read."""

    version: int | None = Version


class OrderIn(VersionIn):
    """Every story of the edition once, in the new order."""

    order: list[int] = Field(max_length=200)


class StoryEditIn(VersionIn):
    """This edition's headline and key points for a story; empty title or null points: the story's own."""

    title: str = Field("", max_length=1000)
    points: list[Annotated[str, Field(max_length=2000)]] | None = Field(None, max_length=20)


class IntroIn(VersionIn):
    """Plain text with links: blank lines separate paragraphs; empty removes it."""

    text: str = Field("", max_length=20000)


class DraftIn(BaseModel):
    """Which day's draft to store now; default today in the list's zone."""

    date: Day | None = None


class SendModeIn(BaseModel):
    """'auto': sent by itself at the send time; 'hold': waits until an editor approves it."""

    mode: Literal["auto", "hold"]


def draft_json(session: Session, settings: Settings, edition: Edition, message: str = "") -> dict[str, Any]:
    """The DraftOut of an edition."""
    view = draft_view(session, settings, edition)
    facts = (
        send_facts(session, settings, edition.mailing_list, edition.edition_date)
        if edition.send_status == "draft"
        else None
    )
    return {
        "edition_id": edition.id,
        "list_slug": edition.mailing_list.slug,
        "date": edition.edition_date,
        "send_status": edition.send_status,
        "editable": edition.is_draft,
        "frozen_by": edition.frozen_by,
        "version": edition.version,
        "intro": edition.intro or "",
        "stories": [
            {"id": row.story.id, "title": row.title, "points": row.points, "edited": row.edited, "pinned": row.pinned}
            for row in view.stories
        ],
        "alternatives": [{"id": s.id, "title": s.title} for s in view.alternatives],
        "dropped": [{"id": s.id, "title": s.title} for s in view.dropped],
        "send": _facts_out(facts) if facts else None,
        "message": message,
    }


def _facts_out(facts: SendFacts) -> dict[str, Any]:
    """The SendFactsOut of what "Send now" would do."""
    return {"readers": facts.readers, "button": facts.button, "question": facts.question, "warnings": facts.warnings}


@dataclass(frozen=True)
class Desk:
    """What a draft route works with: the session, the settings and the editor the audit log names."""

    session: Session
    settings: Settings
    editor: editing.Editor

    def answer(self, edition: Edition, message: str = "") -> dict[str, Any]:
        """The draft as it is now."""
        return draft_json(self.session, self.settings, edition, message)

    def change(self, use_case: Callable[..., editing.Outcome], edition_id: int, *args: Any, **kwargs: Any):
        """One change through an editing use case (its arguments around the editor), answered with the draft."""
        outcome = use_case(self.session, self.settings, edition_id, *args, self.editor, **kwargs)
        return self.answer(outcome.edition, outcome.message)


def _desk(request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep) -> Desk:
    """The caller's desk."""
    return Desk(session, settings, editing.Editor(admin.name, client_ip(request)))


DeskDep = Annotated[Desk, Depends(_desk)]


@router.get("/editions/{edition_id}/draft", response_model=DraftOut)
@readable_by_viewers
def get_draft(edition_id: int, desk: DeskDep):
    """The draft's stories as this edition shows them, what could be added, and what sending would do."""
    return desk.answer(actions.find_edition(desk.session, edition_id))


@router.post("/lists/{slug}/draft", response_model=DraftOut)
def post_draft(slug: Slug, body: DraftIn, desk: DeskDep):
    """Store the day's draft now (the next poll would) so it can be edited; 422 when there are no stories."""
    mailing_list = actions.list_named(desk.session, slug)
    day = actions.check_day(body.date or list_today(mailing_list))
    edition = open_draft(desk.session, desk.settings, mailing_list, day, utcnow())
    if edition is None:
        raise InvalidInput(f"no stories for {slug} on {day}: nothing to edit yet")
    return desk.answer(edition)


@router.post("/editions/{edition_id}/stories/{story_id}/{verb}", response_model=DraftOut, responses=CONFLICT)
def story_verb(edition_id: int, story_id: int, verb: Literal["drop", "pin", "unpin"], body: VersionIn, desk: DeskDep):
    """Drop a story for good, pin one (added if it was not in), or unpin it."""
    use_case = {"drop": editing.drop, "pin": editing.pin, "unpin": editing.unpin}[verb]
    return desk.change(use_case, edition_id, story_id, expected_version=body.version)


@router.put("/editions/{edition_id}/order", response_model=DraftOut, responses=CONFLICT)
def put_order(edition_id: int, body: OrderIn, desk: DeskDep):
    """Reorder the edition's stories (each once)."""
    return desk.change(editing.reorder, edition_id, body.order, expected_version=body.version)


@router.put("/editions/{edition_id}/stories/{story_id}", response_model=DraftOut, responses=CONFLICT)
def put_story(edition_id: int, story_id: int, body: StoryEditIn, desk: DeskDep):
    """This edition's headline and key points for one story."""
    return desk.change(
        wording.edit_story, edition_id, story_id, title=body.title, points=body.points, expected_version=body.version
    )


@router.put("/editions/{edition_id}/intro", response_model=DraftOut, responses=CONFLICT)
def put_intro(edition_id: int, body: IntroIn, desk: DeskDep):
    """The introduction above the stories (plain text with links, sanitised)."""
    return desk.change(wording.set_intro, edition_id, body.text, expected_version=body.version)


@router.post("/editions/{edition_id}/approve", response_model=DraftOut, responses=CONFLICT)
def post_approve(edition_id: int, body: VersionIn, request: Request, desk: DeskDep):
    """Freeze now; a held edition whose send time has passed goes out at once."""
    return desk.change(approval.approve, edition_id, expected_version=body.version, start_drains=drain_starter(request))


@router.put("/lists/{slug}/send-mode")
def put_send_mode(
    slug: Slug, body: SendModeIn, request: Request, admin: CurrentAdmin, session: SessionDep
) -> dict[str, Any]:
    """Send the list's editions by themselves at the send time, or hold each until approved."""
    mailing_list = actions.list_named(session, slug)
    changed = set_send_mode(session, mailing_list, body.mode, admin.name, client_ip(request))
    return {"list_slug": slug, "send_mode": mailing_list.send_mode, "changed": changed}


@router.get("/lists/{slug}/send-facts", response_model=SendFactsOut)
@readable_by_viewers
def get_send_facts(
    slug: Slug,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    day: Day | None = Query(None, alias="date"),
):
    """How many readers "Send now" would reach, and what looks wrong (another day, stale stories)."""
    mailing_list = actions.list_named(session, slug)
    return _facts_out(send_facts(session, settings, mailing_list, actions.check_day(day or list_today(mailing_list))))
