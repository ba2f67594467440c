"""Admin previews of an edition as a reader gets it: the HTML part for a sandboxed iframe, the text part as a page."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.core.errors import InvalidInput
from service.delivery import actions
from service.models import MailingList
from service.web.admin.auth import readable_by_viewers
from service.web.admin.edition_actions import day_query, parse_day
from service.web.admin.render import page
from service.web.deps import CurrentAdmin, SessionDep, SettingsDep

router = APIRouter(prefix="/admin")


def reader_message(session: Session, settings: Settings, mailing_list: MailingList, day: date):
    """The message a sample reader gets (the built edition, or an unfrozen build); 422 without stories."""
    message = actions.preview(session, settings, mailing_list, day)
    if message is None:
        raise InvalidInput(f"no stories for {mailing_list.slug} on {day}: nothing to preview")
    return message


def _html_part(session: Session, settings: Settings, mailing_list: MailingList, day: date) -> HTMLResponse:
    """The HTML part alone, for a sandboxed iframe (the middleware's preview CSP lets only us frame it)."""
    part = reader_message(session, settings, mailing_list, day).get_body(("html",))
    return HTMLResponse(part.get_content() if part is not None else "")


def _text_page(request: Request, session: Session, settings: Settings, mailing_list: MailingList, day: date, back: str):
    """The plain-text part as a reader's mail client would show it."""
    part = reader_message(session, settings, mailing_list, day).get_body(("plain",))
    return page(
        request,
        "editions/text.html",
        title=f"Text part · {mailing_list.name} · {day}",
        mailing_list=mailing_list,
        day=day,
        text=part.get_content() if part is not None else "",
        back=back,
    )


@router.get("/editions/day/preview.html")
@readable_by_viewers
def day_preview(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    list_slug: str = Query(..., alias="list"),
    raw_day: str | None = Query(None, alias="date"),
):
    """The day's HTML part, built unfrozen if the edition is not built yet."""
    mailing_list = actions.list_named(session, list_slug)
    return _html_part(session, settings, mailing_list, parse_day(raw_day, mailing_list))


@router.get("/editions/day/text")
@readable_by_viewers
def day_text(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    list_slug: str = Query(..., alias="list"),
    raw_day: str | None = Query(None, alias="date"),
):
    """The day's text part."""
    mailing_list = actions.list_named(session, list_slug)
    day = parse_day(raw_day, mailing_list)
    return _text_page(
        request, session, settings, mailing_list, day, f"/admin/editions/day?{day_query(mailing_list, day)}"
    )


@router.get("/editions/{edition_id}/preview.html")
@readable_by_viewers
def edition_preview(request: Request, edition_id: int, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep):
    """The built edition's HTML part, for the page's iframes."""
    found = actions.find_edition(session, edition_id)
    return _html_part(session, settings, found.mailing_list, found.edition_date)


@router.get("/editions/{edition_id}/text")
@readable_by_viewers
def edition_text(request: Request, edition_id: int, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep):
    """The built edition's text part."""
    found = actions.find_edition(session, edition_id)
    return _text_page(request, session, settings, found.mailing_list, found.edition_date, f"/admin/editions/{found.id}")
