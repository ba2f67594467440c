"""Rendering admin pages: the admin's own templates, the session's CSRF token, and one-shot notices after a change."""

from __future__ import annotations

from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import RedirectResponse

from service.web.deps import admin_templates

NOTICE_COOKIE = "nl_admin_notice"


def page(request: Request, name: str, status_code: int = 200, **context):
    """An admin page with the caller, their CSRF token and any notice left by the last change."""
    admin = getattr(request.state, "admin", None)
    notice = request.cookies.get(NOTICE_COOKIE)
    context = {
        "admin": admin,
        "csrf_token": admin.csrf_token if admin else "",
        "notice": unquote(notice) if notice else None,
        "section": name.split("/")[0].removesuffix(".html"),
        **context,
    }
    response = admin_templates(request).TemplateResponse(request, name, context, status_code=status_code)
    if notice:
        response.delete_cookie(NOTICE_COOKIE, path="/admin")
    return response


def done(url: str, notice: str) -> RedirectResponse:
    """After a change: 303 to the page that shows it (a refresh never repeats the post), with a one-line notice."""
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(NOTICE_COOKIE, quote(notice[:300]), path="/admin", httponly=True, samesite="lax", max_age=60)
    return response


def masked(email: str) -> str:
    """An address as a viewer sees it: enough to tell domains apart, not to know the reader."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}"


HASH_SHOWN = 12  # characters of the address hash a person needs to tell rows apart
