"""Web safety: CSRF (a double-submit token and an Origin/Referer check), the CSP headers, the body guard's errors."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request

from service.core.config import Settings
from service.core.errors import ServiceError
from service.i18n.locales import N_

# Pages run only our own script files (the subscribe form's time zone) and no third-party resource.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# The admin UI runs its own small script (progress bars) and frames its own edition previews, nothing else.
ADMIN_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; connect-src 'self'; frame-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# An edition preview is the email itself, shown inside the admin page: framed by us only, and it runs nothing.
PREVIEW_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: https:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


class BodyTooLarge(ServiceError):
    """A request body over MAX_BODY_BYTES (MAX_ADMIN_BODY_BYTES under /api/admin/)."""

    code = "body_too_large"


class RequestTimeout(ServiceError):
    """A request body that did not arrive within REQUEST_TIMEOUT_SECONDS (a slow or stalled client)."""

    code = "request_timeout"


CSRF_COOKIE = "nl_csrf"
SECURE_CSRF_COOKIE = "__Host-nl_csrf"  # browsers only accept it Secure, for path /, from this very host
CSRF_FIELD = "csrf_token"


class CsrfFailed(ServiceError):
    """A form post without the token of the page it came from."""

    code = "csrf_failed"


def _https(settings: Settings) -> bool:
    """The public address decides, not the hop to us: behind a TLS-terminating proxy the request is plain http."""
    return settings.base_url.startswith("https://")


def _cookie_name(settings: Settings) -> str:
    """The __Host- prefix where the browser can honour it (https only)."""
    return SECURE_CSRF_COOKIE if _https(settings) else CSRF_COOKIE


def csrf_token(request: Request, settings: Settings) -> str:
    """The CSRF token for this browser, minted on first use and set as a cookie by the page."""
    token = request.cookies.get(_cookie_name(settings))
    if not token or len(token) < 20:
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def set_csrf_cookie(request: Request, settings: Settings, response) -> None:
    """Persist a freshly minted token (SameSite=Lax, HttpOnly)."""
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(
            _cookie_name(settings),
            token,
            httponly=True,
            samesite="lax",
            secure=_https(settings),
            path="/",
            max_age=86400 * 7,
        )


def csrf_matches(request: Request, settings: Settings, submitted: str | None) -> bool:
    """True when the form's hidden token equals the cookie set when the form was shown."""
    cookie = request.cookies.get(_cookie_name(settings))
    if not cookie or not submitted:
        return False
    # bytes, not str: compare_digest raises TypeError on non-ASCII text, which a forged form can send
    return hmac.compare_digest(cookie.encode("utf-8", "surrogateescape"), submitted.encode("utf-8", "surrogateescape"))


def same_origin(request: Request, settings: Settings) -> bool:
    """A browser names the page a post came from; when it does, it must be ours (BASE_URL's origin)."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed:
        return True  # some privacy settings send neither: the token alone decides
    ours = urlsplit(settings.base_url)
    theirs = urlsplit(claimed)
    return (theirs.scheme, theirs.netloc) == (ours.scheme, ours.netloc)


def check_csrf(request: Request, settings: Settings, submitted: str | None) -> None:
    """Refuse a form post that did not come from our own page."""
    if not same_origin(request, settings) or not csrf_matches(request, settings, submitted):
        raise CsrfFailed(
            N_("This form has expired or was not sent from our site. Please reload the page and try again.")
        )
