"""OPTIONS and 405 answers name every method a path takes (Allow), whichever of its routes matched first."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
STATIC = ("GET", "HEAD")  # what a mounted StaticFiles answers


def allowed_methods(scope: Scope) -> list[str]:
    """Every method some route of the app answers at this path (empty: no route has the path)."""
    routes = scope["app"].router.routes
    allowed = [
        method
        for method in METHODS
        if any(
            not isinstance(route, Mount) and route.matches({**scope, "method": method})[0] == Match.FULL
            for route in routes
        )
    ]
    if any(isinstance(route, Mount) and route.matches(scope)[0] == Match.FULL for route in routes):
        allowed += [method for method in STATIC if method not in allowed]
    return [*allowed, "OPTIONS"] if allowed else []


class AllowedMethods:
    """OPTIONS is answered 204 with Allow; a 405 gets the whole Allow list (Starlette names the first route's only)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer OPTIONS here; correct Allow on the way out of a 405."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["method"] == "OPTIONS" and (allowed := allowed_methods(scope)):
            return await Response(status_code=204, headers={"Allow": ", ".join(allowed)})(scope, receive, send)

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = ", ".join(allowed_methods(scope)).encode()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message = {**message, "headers": [*headers, (b"allow", allow)]}
            await send(message)

        await self.app(scope, receive, send_with_allow)
