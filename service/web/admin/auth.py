"""Who may call an admin route: a session cookie (the UI) or a bearer token (the API), checked on every request."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from service.admin import api_tokens, sessions
from service.admin.identity import Admin
from service.admin.models import AdminRole
from service.core.errors import Forbidden, NotAuthorised, SignInRequired
from service.web.common import client_ip, get_session
from service.web.security import CsrfFailed, same_origin

SESSION_COOKIE = "nl_admin"
SECURE_SESSION_COOKIE = "__Host-nl_admin"  # https only: the browser keeps it to this host, Secure, path /
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AdminToken",
    description="`Authorization: Bearer <token>`: an API token (admin UI, API tokens page, or "
    "`newsletter admin tokens create`; scoped to its role) or the bootstrap ADMIN_TOKEN "
    "(at least 32 characters outside development)",
)
BOOTSTRAP = "bootstrap ADMIN_TOKEN"


def https(request: Request) -> bool:
    """The public address decides, as for the reader's CSRF cookie."""
    return bool(request.app.state.settings.base_url.startswith("https://"))


def session_cookie_name(request: Request) -> str:
    """The __Host- prefix where the browser can honour it."""
    return SECURE_SESSION_COOKIE if https(request) else SESSION_COOKIE


def set_session_cookie(request: Request, response, token: str | None) -> None:
    """HttpOnly, SameSite=Lax, Secure on https; None deletes it (logout)."""
    name = session_cookie_name(request)
    if token is None:
        response.delete_cookie(name, path="/", secure=https(request), httponly=True, samesite="lax")
        return
    response.set_cookie(
        name,
        token,
        httponly=True,
        samesite="lax",
        secure=https(request),
        path="/",
        max_age=int(request.app.state.settings.admin_session_hours * 3600),
    )


def readable_by_viewers(endpoint):
    """Mark a GET route as a dashboard or figure a viewer may read; every other admin route needs the admin role."""
    endpoint.readable_by_viewers = True
    return endpoint


def _from_bearer(request: Request, session: Session, secret: str) -> Admin:
    """An API token, or the bootstrap ADMIN_TOKEN; failures are counted per IP so guessing gets nowhere."""
    throttle = request.app.state.admin_throttle
    ip = client_ip(request)
    throttle.check(ip)
    admin = api_tokens.admin_for_token(session, secret)
    bootstrap = request.app.state.settings.admin_token
    # bytes, not str: compare_digest raises TypeError on non-ASCII text (headers arrive as latin-1)
    if (
        admin is None
        and bootstrap
        and secret
        and hmac.compare_digest(secret.encode("utf-8", "surrogateescape"), bootstrap.encode("utf-8", "surrogateescape"))
    ):
        admin = Admin(name=BOOTSTRAP, role=AdminRole.admin, via="bootstrap")
    if admin is None:
        throttle.failed(ip)
        raise NotAuthorised(
            "Missing, wrong or revoked admin token: send Authorization: Bearer <an API token or ADMIN_TOKEN>."
        )
    return admin


async def check_session_csrf(request: Request, admin: Admin) -> None:
    """A browser's change must come from our own page: the session's token in the form or header, and our Origin."""
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get("csrf_token")
        submitted = value if isinstance(value, str) else None
    expected = (admin.csrf_token or "").encode()
    given = (submitted or "").encode("utf-8", "surrogateescape")
    if not same_origin(request) or not given or not hmac.compare_digest(given, expected):
        raise CsrfFailed("This form has expired or was not sent from our site. Please reload the page and try again.")


async def current_admin(
    request: Request,
    session: Session = Depends(get_session),
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Admin:
    """The caller, proven by bearer token or session cookie, allowed this route by its role; else 401/403."""
    raw_authorization = request.headers.get("authorization")
    if raw_authorization is not None:
        secret = (credentials.credentials if credentials else "").strip()
        admin = _from_bearer(request, session, secret)
    else:
        cookie = request.cookies.get(session_cookie_name(request), "")
        found = sessions.admin_for_cookie(session, cookie, hours=request.app.state.settings.admin_session_hours)
        if found is None:
            raise SignInRequired(
                "Missing admin token or session: send Authorization: Bearer <an API token or "
                "ADMIN_TOKEN>, or sign in at /admin/login."
            )
        admin = found
        if request.method not in SAFE_METHODS:
            await check_session_csrf(request, admin)
    route = request.scope.get("route")
    viewer_ok = request.method in SAFE_METHODS and getattr(
        getattr(route, "endpoint", None), "readable_by_viewers", False
    )
    if not viewer_ok and not admin.may(AdminRole.admin):
        raise Forbidden("Your account may read dashboards and figures only; ask an admin to do this.")
    request.state.admin = admin
    return admin


CurrentAdmin = Annotated[Admin, Depends(current_admin)]
