"""Admin screens' edits to a draft edition: forms that hand off to service.editions.editing, then back to its page."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.core.errors import Conflict, InvalidInput
from service.delivery import actions, approval
from service.editions import editing, wording
from service.editions.drafts import open_draft, set_send_mode
from service.models import utcnow
from service.web.admin.edition_actions import drain_starter, parse_day
from service.web.admin.edition_page import edition_page
from service.web.admin.render import done
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep, SettingsDep

router = APIRouter(prefix="/admin")


def editor_of(request: Request, admin: CurrentAdmin) -> editing.Editor:
    """The signed-in admin as the audit log names them."""
    return editing.Editor(admin.name, client_ip(request))


def _version(raw: str) -> int | None:
    """The version the form was rendered at (empty: do not check)."""
    try:
        return int(raw) if raw.strip() else None
    except ValueError:
        raise InvalidInput(f"version must be a number, got {raw[:20]!r}") from None


def _change(
    request: Request,
    admin: CurrentAdmin,
    session: Session,
    settings: Settings,
    edition_id: int,
    change: Callable[[], editing.Outcome],
):
    """Run one change; a conflict or a bad value shows the page again with the message (409 or 422)."""
    try:
        outcome = change()
    except (Conflict, InvalidInput) as error:
        session.rollback()
        found = actions.find_edition(session, edition_id)
        return edition_page(
            request,
            admin,
            session,
            settings,
            found.mailing_list,
            found.edition_date,
            found,
            edit_error=error.message,
            status_code=409 if isinstance(error, Conflict) else 422,
        )
    return done(f"/admin/editions/{edition_id}", outcome.message)


@router.post("/editions/day/draft")
def start_draft(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    list_slug: str = Form(..., alias="list"),
    raw_day: str = Form("", alias="date"),
):
    """Store the day's draft now (the poll would, later) so it can be edited."""
    mailing_list = actions.list_named(session, list_slug)
    day = parse_day(raw_day, mailing_list)
    edition = open_draft(session, settings, mailing_list, day, utcnow())
    if edition is None:
        raise InvalidInput(f"no stories for {mailing_list.slug} on {day}: nothing to edit yet")
    return done(f"/admin/editions/{edition.id}", "Draft ready: change it until it is sent.")


@router.post("/editions/{edition_id}/stories/{story_id}/{verb}")
def story_change(
    request: Request,
    edition_id: int,
    story_id: int,
    verb: str,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    version: str = Form(""),
    title: str = Form(""),
    points: str = Form(""),
):
    """Drop, pin, unpin, move up or down, or edit one story of the draft."""
    editor, seen = editor_of(request, admin), _version(version)
    changes: dict[str, Callable[[], editing.Outcome]] = {
        "drop": lambda: editing.drop(session, settings, edition_id, story_id, editor, seen),
        "pin": lambda: editing.pin(session, settings, edition_id, story_id, editor, seen),
        "unpin": lambda: editing.unpin(session, settings, edition_id, story_id, editor, seen),
        "up": lambda: editing.move(session, settings, edition_id, story_id, -1, editor, seen),
        "down": lambda: editing.move(session, settings, edition_id, story_id, 1, editor, seen),
        "edit": lambda: wording.edit_story(
            session,
            settings,
            edition_id,
            story_id,
            editor,
            title=title,
            points=points.splitlines(),
            expected_version=seen,
        ),
    }
    if verb not in changes:
        raise InvalidInput(f"unknown change {verb[:20]!r}")
    return _change(request, admin, session, settings, edition_id, changes[verb])


@router.post("/editions/{edition_id}/intro")
def intro(
    request: Request,
    edition_id: int,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    version: str = Form(""),
    text: str = Form(""),
):
    """Save the introduction above the stories."""
    editor = editor_of(request, admin)
    return _change(
        request,
        admin,
        session,
        settings,
        edition_id,
        lambda: wording.set_intro(session, settings, edition_id, text, editor, _version(version)),
    )


@router.post("/editions/{edition_id}/approve")
def approve(
    request: Request,
    edition_id: int,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    version: str = Form(""),
):
    """Freeze now: the content is final; a held edition past its send time goes out."""
    editor = editor_of(request, admin)
    return _change(
        request,
        admin,
        session,
        settings,
        edition_id,
        lambda: approval.approve(
            session,
            settings,
            edition_id,
            editor,
            expected_version=_version(version),
            start_drains=drain_starter(request),
        ),
    )


@router.post("/lists/{slug}/send-mode")
def send_mode(
    request: Request, slug: str, admin: CurrentAdmin, session: SessionDep, mode: str = Form(...), back: str = Form("")
):
    """Send by itself at the send time, or hold each edition until approved."""
    mailing_list = actions.list_named(session, slug)
    changed = set_send_mode(session, mailing_list, mode, admin.name, client_ip(request))
    words = "holds each edition until approved" if mode == "hold" else "sends by itself at the send time"
    target = back if back.startswith("/admin/") else "/admin/editions"
    return done(target, f"{mailing_list.name} now {words}." if changed else "Nothing changed.")
