"""The public archive as web pages: the lists, a list's past editions, one edition, and each list's Atom feed.

An edition's page is rendered from its frozen stories, not from the email: a reader in the browser gets the site's
page with links to the story pages and a subscribe box, never an email footer or anyone's unsubscribe link.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from service.core.errors import UnknownList, UnknownPage
from service.editions import (
    archived_editions,
    edition_stories,
    neighbour_editions,
    published_edition,
    stories_of_editions,
)
from service.editions.rendering import archive_url, story_brief, total_sources
from service.i18n.formats import long_date
from service.lists.rules import get_list
from service.models import Edition, MailingList
from service.readers.subscriptions.lookups import all_lists
from service.web.deps import SessionDep, SettingsDep, app_settings, page_templates
from service.web.language import page_language, tr, use_language
from service.web.security import CSRF_FIELD, csrf_token, set_csrf_cookie

router = APIRouter()
FEED_ENTRIES = 30
TOP_HEADLINES = 3  # what a list's archive shows of each edition; the edition's page has them all
PAGE_SIZE = 60  # editions on one page of a list's archive: two months of a daily


def _page(request: Request, name: str, context: dict, *, subscribe_to: MailingList | None = None):
    """Render an archive page (a list's in its language); the subscribe box gets its CSRF token and cookie."""
    if subscribe_to is not None:
        use_language(request, subscribe_to.locale)
    if subscribe_to is not None and subscribe_to.archived_at is None:
        context.update(
            subscribe_list=subscribe_to, csrf_field=CSRF_FIELD, csrf_token=csrf_token(request, app_settings(request))
        )
    language = page_language(request)

    def day_label(day: date) -> str:
        """'Tuesday 10 March 2026', as the emails' subjects say it."""
        return long_date(day, language)

    response = page_templates(request).TemplateResponse(request, name, {"day_label": day_label, **context})
    set_csrf_cookie(request, app_settings(request), response)
    return response


@router.get("/archive")
def archive_index(request: Request, session: SessionDep):
    """Every open list with its latest edition; with one list, that list's archive itself."""
    lists = all_lists(session)
    if len(lists) == 1:
        return RedirectResponse(f"/archive/{lists[0].slug}", status_code=302)
    latest = {ml.id: next(iter(archived_editions(session, ml, limit=1)), None) for ml in lists}
    return _page(request, "archive.html", {"lists": lists, "latest": latest})


@router.get("/archive/{slug}/")
def list_archive_with_slash(slug: str, session: SessionDep):
    """A hand-typed trailing slash finds the list's archive too (a list that exists: we redirect to our own)."""
    return RedirectResponse(f"/archive/{get_list(session, slug).slug}", status_code=301)


@router.get("/archive/{slug}")
def list_archive(request: Request, slug: str, session: SessionDep, page: int = Query(1, ge=1, le=100_000)):
    """A list's published editions, newest first and a page at a time, each with its date and top headlines."""
    mailing_list = get_list(session, slug)
    editions = archived_editions(session, mailing_list, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    if page > 1 and not editions:
        use_language(request, mailing_list.locale)
        raise UnknownPage(
            tr(request, "%(list)s has fewer than %(page)s pages of editions.", list=mailing_list.name, page=page)
        )
    shown = editions[:PAGE_SIZE]
    stories = stories_of_editions(session, shown)
    context = {
        "list": mailing_list,
        "editions": shown,
        "stories": stories,
        "top": TOP_HEADLINES,
        "page": page,
        "older_page": page + 1 if len(editions) > PAGE_SIZE else None,
    }
    return _page(request, "archive_list.html", context, subscribe_to=mailing_list)


@router.get("/archive/{slug}/feed.xml")
def archive_feed(request: Request, slug: str, session: SessionDep, settings: SettingsDep):
    """An Atom feed of a list's editions, one entry per edition carrying each story's key points and link."""
    mailing_list = get_list(session, slug)
    entries = [
        (
            e,
            [
                story_brief(settings, s, (e.story_edits or {}).get(str(s.id)), mailing_list.locale)
                for s in edition_stories(session, e)
            ],
            archive_url(settings, mailing_list, e.edition_date),
        )
        for e in archived_editions(session, mailing_list, limit=FEED_ENTRIES)
    ]
    body = (
        page_templates(request)
        .get_template("feed.xml")
        .render(list=mailing_list, entries=entries, base_url=settings.base_url)
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/archive/{slug}/{day}/")
def archive_edition_with_slash(request: Request, slug: str, day: str, session: SessionDep):
    """A hand-typed trailing slash finds the edition too (one that is published)."""
    edition = _published(request, session, get_list(session, slug), day)
    return RedirectResponse(f"/archive/{slug}/{edition.edition_date.isoformat()}", status_code=301)


@router.get("/archive/{slug}/{day}")
def archive_edition(request: Request, slug: str, day: str, session: SessionDep, settings: SettingsDep):
    """One published edition as a web page (the emails' "view in browser" link opens it)."""
    mailing_list = get_list(session, slug)
    use_language(request, mailing_list.locale)
    edition = _published(request, session, mailing_list, day)
    if day != edition.edition_date.isoformat():  # 20260310 and the like: one address per edition
        return RedirectResponse(f"/archive/{slug}/{edition.edition_date.isoformat()}", status_code=301)
    stories = edition_stories(session, edition)
    older, newer = neighbour_editions(session, edition)
    edits = edition.story_edits or {}  # the editor's headlines and key points for this edition
    briefs = [story_brief(settings, s, edits.get(str(s.id)), mailing_list.locale) for s in stories]
    context = {
        "list": mailing_list,
        "edition": edition,
        "briefs": briefs,
        "total_sources": total_sources(stories) if stories else 0,
        "older": older,
        "newer": newer,
    }
    return _page(request, "archive_edition.html", context, subscribe_to=mailing_list)


def _published(request: Request, session: Session, mailing_list: MailingList, day: str) -> Edition:
    """The list's published edition of the day the URL names, or a 404 (a mistyped date included)."""
    try:
        when = date.fromisoformat(day)
    except ValueError:  # a mistyped address is a page that does not exist, not a form error
        raise UnknownList(
            tr(request, "There is no %(list)s edition for %(day)s.", list=mailing_list.name, day=repr(day))
        ) from None
    edition = published_edition(session, mailing_list, when)
    if edition is None:
        raise UnknownList(
            tr(request, "There is no %(list)s edition for %(day)s.", list=mailing_list.name, day=when.isoformat())
        )
    return edition
