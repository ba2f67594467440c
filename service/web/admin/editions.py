"""Admin screens for editions: the list, one edition's figures, previews, test sends and send controls."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse

from service.core.errors import InvalidInput
from service.delivery import actions
from service.editions import get_edition
from service.lists.rules import lists_with_readers
from service.ops.monitoring.figures import figures_for
from service.web.admin.auth import readable_by_viewers
from service.web.admin.edition_actions import (
    act,
    day_query,
    list_today,
    mail_test,
    parse_day,
    progress_state,
    start_now,
)
from service.web.admin.edition_page import edition_page
from service.web.admin.render import done, page
from service.web.deps import CurrentAdmin, SessionDep, SettingsDep

router = APIRouter(prefix="/admin")
PAGE_SIZE = 50
VERBS = {"pause": "Paused", "resume": "Resumed", "cancel": "Cancelled", "retry": "Retried"}


@router.get("/editions")
@readable_by_viewers
def editions(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    list_slug: str | None = Query(None, alias="list"),
    before: str | None = None,
):
    """Editions newest first, each with its status and progress; and a way to open any list's day."""
    cursor = None
    if before:
        day, _, edition_id = before.partition("_")
        try:
            cursor = (date.fromisoformat(day), int(edition_id))
        except ValueError:
            raise InvalidInput("before must look like 2026-03-06_12") from None
    rows = actions.recent_editions(session, list_slug=list_slug or None, before=cursor, limit=PAGE_SIZE)
    figures = figures_for(session, [edition.id for edition in rows])
    next_url = None
    if len(rows) == PAGE_SIZE:
        last = rows[-1]
        next_url = "/admin/editions?" + urlencode(
            {**({"list": list_slug} if list_slug else {}), "before": f"{last.edition_date}_{last.id}"}
        )
    lists = [mailing_list for mailing_list, _ in lists_with_readers(session) if mailing_list.archived_at is None]
    return page(
        request,
        "editions/list.html",
        title="Editions",
        rows=rows,
        figures=figures,
        lists=lists,
        chosen=list_slug or "",
        next_url=next_url,
        progress_state=progress_state,
    )


@router.get("/lists/{slug}/today")
@readable_by_viewers
def today_of_list(slug: str, admin: CurrentAdmin, session: SessionDep):
    """Today's edition of a list, built or not."""
    mailing_list = actions.list_named(session, slug)
    return RedirectResponse(f"/admin/editions/day?{day_query(mailing_list, list_today(mailing_list))}", status_code=303)


@router.get("/editions/day")
@readable_by_viewers
def edition_of_day(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    list_slug: str = Query(..., alias="list"),
    raw_day: str | None = Query(None, alias="date"),
):
    """A list's edition of a day: its page if built, else a preview with test and send-now."""
    mailing_list = actions.list_named(session, list_slug)
    day = parse_day(raw_day, mailing_list)
    edition = get_edition(session, mailing_list, day)
    if edition is not None:
        return RedirectResponse(f"/admin/editions/{edition.id}", status_code=303)
    return edition_page(request, admin, session, settings, mailing_list, day, None)


@router.post("/editions/day/send-test")
def day_send_test(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    list_slug: str = Form(..., alias="list"),
    raw_day: str = Form("", alias="date"),
    address: str = Form(""),
):
    """Mail the day's edition, marked [Test], to the address typed (the admin's own by default)."""
    mailing_list = actions.list_named(session, list_slug)
    day = parse_day(raw_day, mailing_list)
    try:
        sent = mail_test(request, admin, session, settings, mailing_list.slug, day, address)
    except InvalidInput as error:
        session.rollback()
        return edition_page(
            request,
            admin,
            session,
            settings,
            mailing_list,
            day,
            get_edition(session, mailing_list, day),
            test_error=error.message,
            test_address=address,
            status_code=422,
        )
    edition = get_edition(session, mailing_list, day)
    back = f"/admin/editions/{edition.id}" if edition else f"/admin/editions/day?{day_query(mailing_list, day)}"
    return done(back, f"Test sent to {sent.sent_to}.")


@router.post("/editions/day/send-now")
def day_send_now(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    list_slug: str = Form(..., alias="list"),
    raw_day: str = Form("", alias="date"),
):
    """Build the day's edition if needed and start sending it now."""
    mailing_list = actions.list_named(session, list_slug)
    started = start_now(request, admin, session, settings, mailing_list.slug, parse_day(raw_day, mailing_list))
    return done(f"/admin/editions/{started.edition_id}", started.message)


@router.get("/editions/{edition_id}")
@readable_by_viewers
def edition(request: Request, edition_id: int, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep):
    """One edition: figures, live progress, previews, failures and the actions that apply now."""
    found = actions.find_edition(session, edition_id)
    return edition_page(request, admin, session, settings, found.mailing_list, found.edition_date, found)


def _action(verb: str):
    """A POST route for one of pause, resume, cancel, retry: the edition service, audited, then back to the page."""

    def run(request: Request, edition_id: int, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep):
        outcome = act(request, admin, session, settings, edition_id, verb)
        return done(f"/admin/editions/{edition_id}", outcome.message)

    run.__name__ = f"{verb}_edition"
    run.__doc__ = f"{VERBS[verb]} an edition (POST from its page)."
    return run


for _verb in VERBS:
    router.post(f"/editions/{{edition_id}}/{_verb}")(_action(_verb))
