"""The public archive: past editions as web pages ("view in browser") and as an Atom feed."""
from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from service.editions import archived_editions, edition_stories, published_edition, stories_of_editions
from service.errors import UnknownList
from service.lists import get_list
from service.rendering import archive_url, fill, public_values
from service.subscriptions import all_lists
from service.web.common import get_session

router = APIRouter()


@router.get("/archive")
def archive_index(request: Request, session: Session = Depends(get_session)):
    """Every list's past editions, newest first."""
    lists = all_lists(session)
    editions = {ml.id: archived_editions(session, ml) for ml in lists}
    stories = stories_of_editions(session, [edition for shown in editions.values() for edition in shown])
    return request.app.state.templates.TemplateResponse(request, "archive.html",
                                                        {"lists": lists, "editions": editions, "stories": stories})


@router.get("/archive/{slug}/feed.xml")
def archive_feed(request: Request, slug: str, session: Session = Depends(get_session)):
    """An Atom feed of a list's editions, for feed readers."""
    settings = request.app.state.settings
    mailing_list = get_list(session, slug)
    entries = [(e, edition_stories(session, e), archive_url(settings, mailing_list, e.edition_date))
               for e in archived_editions(session, mailing_list, limit=30)]
    body = request.app.state.templates.get_template("feed.xml").render(
        list=mailing_list, entries=entries, base_url=settings.base_url)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/archive/{slug}/{day}")
def archive_edition(request: Request, slug: str, day: str, session: Session = Depends(get_session)):
    """One edition exactly as it was sent, with the reader-specific links pointing at the subscribe page."""
    settings = request.app.state.settings
    mailing_list = get_list(session, slug)
    try:
        when = date.fromisoformat(day)
    except ValueError:  # a mistyped address is a page that does not exist, not a form error
        raise UnknownList(f"There is no {mailing_list.name} edition for {day!r}.") from None
    edition = published_edition(session, mailing_list, when)
    if edition is None:
        raise UnknownList(f"There is no {mailing_list.name} edition for {when.isoformat()}.")
    html = fill(edition.html, edition.placeholder_key, public_values(settings, mailing_list), html=True)
    return HTMLResponse(html)
