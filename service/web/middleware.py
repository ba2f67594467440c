"""Pure ASGI middleware that guards every request: body size and deadline, and the security headers of answers."""

from __future__ import annotations

import asyncio

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core.errors import ServiceError
from service.web.errors import render_service_error
from service.web.security import (
    ADMIN_CONTENT_SECURITY_POLICY,
    CONTENT_SECURITY_POLICY,
    PREVIEW_CONTENT_SECURITY_POLICY,
    BodyTooLarge,
    RequestTimeout,
)

# the link is the key: never cache these pages
TOKEN_PATHS = ("/confirm/", "/unsubscribe/", "/preferences/", "/u/", "/my-data/")
HSTS = b"max-age=31536000"  # a year, this host only: browsers never try plain http again (sub-domains are not ours)


class GuardedBody:
    """Read the whole body before the app runs: refuse it when it is too large or too slow to arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float, path_limits: dict[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.path_limits = sorted((path_limits or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        """The limit of the longest matching path prefix (admin uploads are bigger than public forms)."""
        return next((limit for prefix, limit in self.path_limits if path.startswith(prefix)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then buffer what arrives (up to the limit, within the deadline)."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        max_bytes = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            return await _refuse(scope, receive, send, _too_large(max_bytes))
        buffered: list[Message] = []
        seen = 0
        try:
            async with asyncio.timeout(self.timeout):
                while not buffered or buffered[-1].get("more_body", False):
                    message = await receive()
                    buffered.append(message)
                    if message["type"] != "http.request":
                        break
                    seen += len(message.get("body", b""))
                    if seen > max_bytes:
                        return await _refuse(scope, receive, send, _too_large(max_bytes))
        except TimeoutError:
            error = RequestTimeout(f"The request body did not arrive within {self.timeout:g} seconds.")
            return await _refuse(scope, receive, send, error)

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)


def _too_large(max_bytes: int) -> BodyTooLarge:
    """The 413's message says what the limit is, in the unit a person would use."""
    mib, kib = max_bytes // (1024 * 1024), max_bytes // 1024
    limit = (
        f"{mib} MB"
        if max_bytes == mib * 1024 * 1024 and mib
        else f"{kib} KB"
        if max_bytes == kib * 1024 and kib
        else f"{max_bytes} bytes"
    )
    return BodyTooLarge(f"The request body is too large: the limit here is {limit}.")


async def _refuse(scope: Scope, receive: Receive, send: Send, error: ServiceError) -> None:
    """An error like every other: a page for people, JSON under /api."""
    response = render_service_error(Request(scope), error)
    response.headers["Connection"] = "close"
    await response(scope, receive, send)


class SecurityHeaders:
    """Every answer says: no framing, no sniffing, no referrer leaks, no cached token pages; https stays https."""

    def __init__(self, app: ASGIApp, hsts: bool = False):
        self.app, self.hsts = app, hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to the response start, whatever produced it (route, error handler, 404)."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        admin = path.startswith(("/admin", "/docs"))  # the admin UI and the API reference run our own scripts
        no_store = path.startswith(TOKEN_PATHS) or (admin and not path.startswith(("/admin/static/", "/docs/static/")))
        preview = admin and path.endswith("/preview.html")
        policy = (
            PREVIEW_CONTENT_SECURITY_POLICY
            if preview
            else ADMIN_CONTENT_SECURITY_POLICY
            if admin
            else CONTENT_SECURITY_POLICY
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                dropped = {b"server"} | ({b"cache-control"} if no_store else set())
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dropped]
                present = {k.lower() for k, _ in headers}
                extra = {
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"SAMEORIGIN" if preview else b"DENY",
                    # our own forms still name their Origin; no one else learns a URL
                    b"referrer-policy": b"same-origin",
                    b"content-security-policy": policy.encode(),
                    **({b"cache-control": b"no-store"} if no_store else {}),
                    **({b"strict-transport-security": HSTS} if self.hsts else {}),
                }
                headers += [(k, v) for k, v in extra.items() if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
