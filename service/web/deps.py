"""What a route may ask for, as typed dependencies: the settings, a session, the caller; app.state is read only here."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from service.admin import api_tokens, sessions
from service.admin.identity import Admin
from service.admin.models import AdminRole
from service.core.config import Settings
from service.core.db import session_factory
from service.core.errors import Forbidden, NotAuthorised, SignInRequired
from service.core.ratelimit import FailureThrottle, LoginThrottle, SubscribeLimiter
from service.readers.subscriptions.joining import Notifier
from service.web.common import client_ip
from service.web.security import CsrfFailed, same_origin

if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates

SESSION_COOKIE = "nl_admin"
SECURE_SESSION_COOKIE = "__Host-nl_admin"  # https only: the browser keeps it to this host, Secure, path /
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
BOOTSTRAP = "bootstrap ADMIN_TOKEN"
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AdminToken",
    description="`Authorization: Bearer <token>`: an API token (admin UI, API tokens page, or "
    "`newsletter admin tokens create`; scoped to its role) or the bootstrap ADMIN_TOKEN "
    "(at least 32 characters outside development)",
)


def app_settings(request: Request) -> Settings:
    """The settings the app was built with (also for what runs outside a route: handlers, template helpers)."""
    return request.app.state.settings  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(app_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    """One session per request."""
    with session_factory(settings.effective_database_url)() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def notifier(request: Request) -> Notifier:
    """Who sends the reader's emails (Celery tasks, or a test's recorder)."""
    return request.app.state.notifier  # type: ignore[no-any-return]


def limiter(request: Request) -> SubscribeLimiter:
    """The subscribe and resend limits, per network and per address."""
    return request.app.state.limiter  # type: ignore[no-any-return]


def login_throttle(request: Request) -> LoginThrottle:
    """Failed sign-ins, per address and per account."""
    return request.app.state.login_throttle  # type: ignore[no-any-return]


def admin_templates(request: Request) -> Jinja2Templates:
    """The admin pages' templates."""
    return request.app.state.admin_templates  # type: ignore[no-any-return]


def page_templates(request: Request) -> Jinja2Templates:
    """The reader pages' templates."""
    return request.app.state.templates  # type: ignore[no-any-return]


def state_override(request: Request, name: str) -> object | None:
    """What a test put on app.state in place of a collaborator (None: the real one)."""
    return getattr(request.app.state, name, None)


NotifierDep = Annotated[Notifier, Depends(notifier)]
LimiterDep = Annotated[SubscribeLimiter, Depends(limiter)]
LoginThrottleDep = Annotated[LoginThrottle, Depends(login_throttle)]


def https(settings: Settings) -> bool:
    """The public address decides, as for the reader's CSRF cookie."""
    return settings.base_url.startswith("https://")


def session_cookie_name(settings: Settings) -> str:
    """The __Host- prefix where the browser can honour it."""
    return SECURE_SESSION_COOKIE if https(settings) else SESSION_COOKIE


def _from_bearer(request: Request, session: Session, settings: Settings, secret: str) -> Admin:
    """An API token, or the bootstrap ADMIN_TOKEN; failures are counted per IP so guessing gets nowhere."""
    throttle: FailureThrottle = request.app.state.admin_throttle
    ip = client_ip(request)
    throttle.check(ip)
    admin = api_tokens.admin_for_token(session, secret)
    bootstrap = settings.admin_token
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


async def check_session_csrf(request: Request, settings: Settings, admin: Admin) -> None:
    """A browser's change must come from our own page: the session's token in the form or header, and our Origin."""
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get("csrf_token")
        submitted = value if isinstance(value, str) else None
    expected = (admin.csrf_token or "").encode()
    given = (submitted or "").encode("utf-8", "surrogateescape")
    if not same_origin(request, settings) or not given or not hmac.compare_digest(given, expected):
        raise CsrfFailed("This form has expired or was not sent from our site. Please reload the page and try again.")


async def current_admin(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
) -> Admin:
    """The caller, proven by bearer token or session cookie, allowed this route by its role; else 401/403."""
    raw_authorization = request.headers.get("authorization")
    if raw_authorization is not None:
        secret = (credentials.credentials if credentials else "").strip()
        admin = _from_bearer(request, session, settings, secret)
    else:
        cookie = request.cookies.get(session_cookie_name(settings), "")
        found = sessions.admin_for_cookie(session, cookie, hours=settings.admin_session_hours)
        if found is None:
            raise SignInRequired(
                "Missing admin token or session: send Authorization: Bearer <an API token or "
                "ADMIN_TOKEN>, or sign in at /admin/login."
            )
        admin = found
        if request.method not in SAFE_METHODS:
            await check_session_csrf(request, settings, admin)
    route = request.scope.get("route")
    viewer_ok = request.method in SAFE_METHODS and getattr(
        getattr(route, "endpoint", None), "readable_by_viewers", False
    )
    if not viewer_ok and not admin.may(AdminRole.admin):
        raise Forbidden("Your account may read dashboards and figures only; ask an admin to do this.")
    request.state.admin = admin
    return admin


CurrentAdmin = Annotated[Admin, Depends(current_admin)]
