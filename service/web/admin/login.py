"""Sign in and out of the admin UI; failed attempts are limited per IP and per address, with one answer for all."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from service.admin import accounts, audit, sessions
from service.web import security
from service.web.admin.auth import set_session_cookie
from service.web.admin.render import page
from service.web.common import client_ip
from service.web.deps import (
    LoginThrottleDep,
    SessionDep,
    SettingsDep,
    app_settings,
    check_session_csrf,
    session_cookie_name,
)

router = APIRouter(prefix="/admin", include_in_schema=False)
WRONG = "That address and password do not match an account."


def _safe_next(target: str | None) -> str:
    """Only a path on the admin side: a login link must not send anyone elsewhere."""
    target = unquote(target or "")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/admin") or target.startswith("//"):
        return "/admin"
    return target


def _login_page(request: Request, *, next_url: str, email: str = "", error: str | None = None, status_code=200):
    """The form, with the reader-side CSRF cookie (there is no session yet to bind a token to)."""
    response = page(
        request,
        "login.html",
        status_code,
        next_url=next_url,
        email=email,
        error=error,
        login_csrf=security.csrf_token(request, app_settings(request)),
    )
    security.set_csrf_cookie(request, app_settings(request), response)
    return response


@router.get("/login")
def login_form(request: Request, next: str | None = None):
    """The sign-in form."""
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    throttle: LoginThrottleDep,
    email: str = Form(""),
    password: str = Form(""),
    next: str = Form("/admin"),
    csrf_token: str = Form(""),
):
    """Check the password; on success a fresh session (a new cookie, never one the browser brought)."""
    security.check_csrf(request, settings, csrf_token)
    throttle.check(client_ip(request), email)
    user = accounts.authenticate(session, email, password)
    if user is None:
        throttle.failed(client_ip(request), email)
        audit.record(
            session, actor=email.strip()[:320] or "(blank)", action="admin.login_failed", ip=client_ip(request)
        )
        session.commit()
        return _login_page(request, next_url=_safe_next(next), email=email, error=WRONG, status_code=401)
    token = sessions.open_session(
        session,
        user,
        hours=settings.admin_session_hours,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    audit.record(
        session, actor=user.email, action="admin.login", object_type="admin", object_id=user.id, ip=client_ip(request)
    )
    session.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(settings, response, token)
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep, settings: SettingsDep):
    """End this browser's session at once; the cookie is useless afterwards wherever it was copied."""
    cookie = request.cookies.get(session_cookie_name(settings), "")
    admin = sessions.admin_for_cookie(session, cookie, hours=settings.admin_session_hours)
    if admin is not None:
        await check_session_csrf(request, settings, admin)
        sessions.close_session(session, cookie)
        audit.record(
            session,
            actor=admin.name,
            action="admin.logout",
            object_type="admin",
            object_id=admin.admin_id,
            ip=client_ip(request),
        )
        session.commit()
    response = RedirectResponse("/admin/login", status_code=303)
    set_session_cookie(settings, response, None)
    return response
