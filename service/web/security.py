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
    """A request body over MAX_BODY_BYTES."""

    code = "body_too_large"


class BodySizeLimit:
    """Refuse bodies over a limit before the app reads them, whether Content-Length is sent or not."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length; without one (chunked), read up to the limit before the app runs."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared and declared.isdigit():
            if int(declared) > self.max_bytes:
                return await _too_large(scope, receive, send)
            return await self.app(scope, receive, send)  # the server never passes on more than declared
        buffered: list[Message] = []
        seen = 0
        while not buffered or buffered[-1].get("more_body", False):
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                return await _too_large(scope, receive, send)

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    """A 413 like every other error: a page for people, JSON under /api."""
    from service.web.errors import render_service_error  # that module imports this one

    error = BodyTooLarge("The request body is too large.")
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


def check_csrf(request: Request, submitted: str | None) -> None:
    """The form's hidden token must equal the cookie set when the form was shown."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise CsrfFailed("This form has expired or was not sent from our site. Please reload the page and try again.")
