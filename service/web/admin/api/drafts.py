"""Admin JSON API for draft editions: read one, change it (version-checked: 409 if someone saved first), approve."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service.delivery import actions
from service.editions import approval, editing, wording
from service.editions.audience import send_facts
from service.editions.drafts import open_draft, set_send_mode
from service.editions.view import draft_view
from service.errors import InvalidInput
from service.lists import SLUG
from service.models import Edition, utcnow
from service.web.admin.auth import readable_by_viewers
from service.web.admin.edition_actions import drain_starter, list_today
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep
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


def draft_json(request: Request, session: Session, edition: Edition, message: str = "") -> dict[str, Any]:
    """The DraftOut of an edition."""
    settings = request.app.state.settings
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
        "send": {
            "readers": facts.readers,
            "button": facts.button,
            "question": facts.question,
            "warnings": facts.warnings,
        }
        if facts
        else None,
        "message": message,
    }


def _run(request: Request, session: Session, change: Callable[[], editing.Outcome]) -> dict[str, Any]:
    """One change through the editing use cases, answered with the draft as it is now."""
    outcome = change()
    return draft_json(request, session, outcome.edition, outcome.message)


def _editor(request: Request, admin: CurrentAdmin) -> editing.Editor:
    """The caller as the audit log names them."""
    return editing.Editor(admin.name, client_ip(request))


@router.get("/editions/{edition_id}/draft", response_model=DraftOut)
@readable_by_viewers
def get_draft(edition_id: int, request: Request, admin: CurrentAdmin, session: SessionDep):
    """The draft's stories as this edition shows them, what could be added, and what sending would do."""
    return draft_json(request, session, actions.find_edition(session, edition_id))


@router.post("/lists/{slug}/draft", response_model=DraftOut)
def post_draft(slug: Slug, body: DraftIn, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Store the day's draft now (the next poll would) so it can be edited; 422 when there are no stories."""
    mailing_list = actions.list_named(session, slug)
    day = actions.check_day(body.date or list_today(mailing_list))
    edition = open_draft(session, request.app.state.settings, mailing_list, day, utcnow())
    if edition is None:
        raise InvalidInput(f"no stories for {slug} on {day}: nothing to edit yet")
    return draft_json(request, session, edition)


@router.post("/editions/{edition_id}/stories/{story_id}/{verb}", response_model=DraftOut, responses=CONFLICT)
def story_verb(
    edition_id: int,
    story_id: int,
    verb: Literal["drop", "pin", "unpin"],
    body: VersionIn,
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
):
    """Drop a story for good, pin one (added if it was not in), or unpin it."""
    use_case = {"drop": editing.drop, "pin": editing.pin, "unpin": editing.unpin}[verb]
    settings = request.app.state.settings
    return _run(
        request,
        session,
        lambda: use_case(session, settings, edition_id, story_id, _editor(request, admin), body.version),
    )


@router.put("/editions/{edition_id}/order", response_model=DraftOut, responses=CONFLICT)
def put_order(edition_id: int, body: OrderIn, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Reorder the edition's stories (each once)."""
    settings = request.app.state.settings
    return _run(
        request,
        session,
        lambda: editing.reorder(session, settings, edition_id, body.order, _editor(request, admin), body.version),
    )


@router.put("/editions/{edition_id}/stories/{story_id}", response_model=DraftOut, responses=CONFLICT)
def put_story(
    edition_id: int,
    story_id: int,
    body: StoryEditIn,
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
):
    """This edition's headline and key points for one story."""
    settings = request.app.state.settings
    return _run(
        request,
        session,
        lambda: wording.edit_story(
            session,
            settings,
            edition_id,
            story_id,
            _editor(request, admin),
            title=body.title,
            points=body.points,
            expected_version=body.version,
        ),
    )


@router.put("/editions/{edition_id}/intro", response_model=DraftOut, responses=CONFLICT)
def put_intro(edition_id: int, body: IntroIn, request: Request, admin: CurrentAdmin, session: SessionDep):
    """The introduction above the stories (plain text with links, sanitised)."""
    settings = request.app.state.settings
    return _run(
        request,
        session,
        lambda: wording.set_intro(session, settings, edition_id, body.text, _editor(request, admin), body.version),
    )


@router.post("/editions/{edition_id}/approve", response_model=DraftOut, responses=CONFLICT)
def post_approve(edition_id: int, body: VersionIn, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Freeze now; a held edition whose send time has passed goes out at once."""
    settings = request.app.state.settings
    return _run(
        request,
        session,
        lambda: approval.approve(
            session,
            settings,
            edition_id,
            _editor(request, admin),
            expected_version=body.version,
            start_drains=drain_starter(request),
        ),
    )


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
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    day: Day | None = Query(None, alias="date"),
):
    """How many readers "Send now" would reach, and what looks wrong (another day, stale stories)."""
    mailing_list = actions.list_named(session, slug)
    facts = send_facts(
        session, request.app.state.settings, mailing_list, actions.check_day(day or list_today(mailing_list))
    )
    return {"readers": facts.readers, "button": facts.button, "question": facts.question, "warnings": facts.warnings}
