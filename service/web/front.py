"""The front door: the landing page, the subscribe form with its errors under each field, and check-your-inbox.

A subscribe POST answers 303 to the check-your-inbox page, so a refresh never posts again; the address
travels there in a short-lived signed cookie, and "send it again" is limited per address.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from service.branding.brand import list_brand
from service.core.config import Settings
from service.models import MailingList
from service.readers.front.form import browser_zone, field_errors
from service.readers.front.inbox import INBOX_COOKIE, INBOX_MAX_AGE, PendingRequest, read_pending
from service.readers.front.landing import latest_editions
from service.readers.subscriptions.lookups import all_lists
from service.web.common import subscribe
from service.web.deps import LimiterDep, NotifierDep, SessionDep, SettingsDep
from service.web.language import tr, use_list_language
from service.web.page_render import render_page, use_brand
from service.web.security import CSRF_FIELD, check_csrf

router = APIRouter()
CHECK_INBOX = "/subscribe/check-inbox"


def _form_page(
    request: Request,
    session: Session,
    settings: Settings,
    template: str,
    *,
    chosen: set[str],
    status_code: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
):
    """A page with the subscribe form: the site's, or the list's own brand when there is exactly one list."""
    lists = all_lists(session)
    use_list_language(request, lists)
    if len(lists) == 1:
        use_brand(request, list_brand(session, settings, lists[0]))
        chosen = {lists[0].slug}
    latest = latest_editions(session, lists) if template == "landing.html" else []
    return render_page(
        request,
        template,
        status_code,
        lists=lists,
        chosen=chosen,
        latest=latest,
        values=values or {"email": "", "name": ""},
        errors={field: tr(request, message) for field, message in (errors or {}).items()},
        archive_url="/archive",
    )


@router.get("/")
def landing(request: Request, session: SessionDep, settings: SettingsDep):
    """The site's (or the one list's) front page: what it is, the form, the latest headlines, the archive."""
    return _form_page(request, session, settings, "landing.html", chosen=set())


@router.get("/subscribe")
def subscribe_form(request: Request, session: SessionDep, settings: SettingsDep, list: str | None = None):
    """The form on its own page (links from story pages pre-tick their list)."""
    return _form_page(request, session, settings, "subscribe.html", chosen={list} if list else set())


def _with_pending(settings: Settings, response, pending: PendingRequest):
    """Attach the check-your-inbox cookie (HttpOnly, this path only, gone in two hours)."""
    response.set_cookie(
        INBOX_COOKIE,
        pending.sign(settings.secret_key),
        max_age=INBOX_MAX_AGE,
        path="/subscribe",
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )
    return response


@router.post("/subscribe")
def subscribe_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    notifier: NotifierDep,
    email: str = Form(""),
    name: str = Form(""),
    list: list[str] = Form(default_factory=list),
    timezone: str = Form(""),
    csrf_token_value: str = Form("", alias=CSRF_FIELD),
):
    """Errors come back under their fields with the input kept; a valid request goes on to check-your-inbox."""
    check_csrf(request, settings, csrf_token_value)
    errors = field_errors(
        session, email=email, name=name, lists=list, check_deliverability=settings.check_deliverability
    )
    if errors:
        return _form_page(
            request,
            session,
            settings,
            "subscribe.html",
            chosen=set(list),
            status_code=422,
            values={"email": email, "name": name},
            errors=errors,
        )
    zone = browser_zone(timezone)
    checked = subscribe(
        request, session, settings, limiter, notifier, email=email, name=name, lists=list, timezone=zone, source="form"
    )
    chosen = [ml for ml in (session.get(MailingList, list_id) for list_id in checked.list_ids) if ml is not None]
    pending = PendingRequest(
        address=checked.address, lists=[ml.slug for ml in chosen], name=checked.name, timezone=zone
    )
    return _with_pending(settings, RedirectResponse(CHECK_INBOX, status_code=303), pending)


@router.get(CHECK_INBOX)
def check_inbox(request: Request, session: SessionDep, settings: SettingsDep):
    """The address we wrote to, the spam folder hint, and the resend button (the same answer for every address)."""
    pending = read_pending(settings.secret_key, request.cookies.get(INBOX_COOKIE))
    if pending is not None:
        use_list_language(request, [ml for ml in all_lists(session) if ml.slug in pending.lists])
    return render_page(request, "check_inbox.html", pending=pending)


@router.post("/subscribe/resend")
def resend(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    notifier: NotifierDep,
    csrf_token_value: str = Form("", alias=CSRF_FIELD),
):
    """Send the confirmation again for the address in the cookie, at most SUBSCRIBE_RESEND_LIMIT times."""
    check_csrf(request, settings, csrf_token_value)
    pending = read_pending(settings.secret_key, request.cookies.get(INBOX_COOKIE))
    if pending is None:
        return RedirectResponse(CHECK_INBOX, status_code=303)
    wait = limiter.check_resend(pending.address)
    if not wait:
        subscribe(
            request,
            session,
            settings,
            limiter,
            notifier,
            email=pending.address,
            name=pending.name,
            lists=pending.lists,
            timezone=pending.timezone,
            source="form-resend",
        )
    again = PendingRequest(
        address=pending.address,
        lists=pending.lists,
        name=pending.name,
        timezone=pending.timezone,
        resent="limited" if wait else "sent",
        wait=wait,
    )
    return _with_pending(settings, RedirectResponse(CHECK_INBOX, status_code=303), again)
