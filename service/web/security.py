"""Request hygiene: body size cap (pure ASGI) and double-submit CSRF tokens for HTML forms."""
from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import ServiceError

CSRF_COOKIE = "nl_csrf"
CSRF_FIELD = "csrf_token"


class CsrfFailed(ServiceError):
    """A form post without the token of the page it came from."""

    code = "csrf_failed"


class BodyTooLarge(ServiceError):
    """A request body over MAX_BODY_BYTES (MAX_ADMIN_BODY_BYTES under /api/admin/)."""

    code = "body_too_large"


class BodySizeLimit:
    """Refuse bodies over a limit before the app reads them, whether Content-Length is sent or not."""

    def __init__(self, app: ASGIApp, max_bytes: int, path_limits: dict[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.path_limits = sorted((path_limits or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        """The limit of the longest matching path prefix (admin uploads are bigger than public forms)."""
        return next((limit for prefix, limit in self.path_limits if path.startswith(prefix)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length; without one (chunked), read up to the limit before the app runs."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        max_bytes = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared and declared.isdigit():
            if int(declared) > max_bytes:
                return await _too_large(scope, receive, send, max_bytes)
            return await self.app(scope, receive, send)  # the server never passes on more than declared
        buffered: list[Message] = []
        seen = 0
        while not buffered or buffered[-1].get("more_body", False):
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                return await _too_large(scope, receive, send, max_bytes)

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)


async def _too_large(scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
    """A 413 like every other error: a page for people, JSON under /api; it says what the limit is."""
    from service.web.errors import render_service_error  # that module imports this one

    mib, kib = max_bytes // (1024 * 1024), max_bytes // 1024
    limit = (f"{mib} MB" if max_bytes == mib * 1024 * 1024 and mib else
             f"{kib} KB" if max_bytes == kib * 1024 and kib else f"{max_bytes} bytes")
    error = BodyTooLarge(f"The request body is too large: the limit here is {limit}.")
    await render_service_error(Request(scope), error)(scope, receive, send)


def csrf_token(request: Request) -> str:
    """The CSRF token for this browser, minted on first use and set as a cookie by the page."""
    token = request.cookies.get(CSRF_COOKIE)
    if not token or len(token) < 20:
        token = getattr(request.state, "new_csrf", None) or secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def set_csrf_cookie(request: Request, response) -> None:
    """Persist a freshly minted token (SameSite=Lax, HttpOnly)."""
    token = getattr(request.state, "new_csrf", None)
    if token:
        secure = request.url.scheme == "https"
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure, max_age=86400 * 7)


def csrf_matches(request: Request, submitted: str | None) -> bool:
    """True when the form's hidden token equals the cookie set when the form was shown."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted:
        return False
    # bytes, not str: compare_digest raises TypeError on non-ASCII text, which a forged form can send
    return hmac.compare_digest(cookie.encode("utf-8", "surrogateescape"), submitted.encode("utf-8", "surrogateescape"))


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a form post that did not come from our own page."""
    if not csrf_matches(request, submitted):
        raise CsrfFailed("This form has expired or was not sent from our site. Please reload the page and try again.")
