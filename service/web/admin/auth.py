"""The admin's session cookie, and which routes a viewer may read (who is calling: service.web.deps)."""

from __future__ import annotations

from service.core.config import Settings
from service.web.deps import https, session_cookie_name


def set_session_cookie(settings: Settings, response, token: str | None) -> None:
    """HttpOnly, SameSite=Lax, Secure on https; None deletes it (logout)."""
    name = session_cookie_name(settings)
    if token is None:
        response.delete_cookie(name, path="/", secure=https(settings), httponly=True, samesite="lax")
        return
    response.set_cookie(
        name,
        token,
        httponly=True,
        samesite="lax",
        secure=https(settings),
        path="/",
        max_age=int(settings.admin_session_hours * 3600),
    )


def readable_by_viewers(endpoint):
    """Mark a GET route as a dashboard or figure a viewer may read; every other admin route needs the admin role."""
    endpoint.readable_by_viewers = True
    return endpoint
