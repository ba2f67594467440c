"""Rendering a reader page: the CSRF token in reach of every form, and its cookie set when it was just minted."""

from __future__ import annotations

from fastapi import Request

from service.web.deps import app_settings, page_templates
from service.web.security import CSRF_FIELD, csrf_token, set_csrf_cookie


def render_page(request: Request, name: str, status_code: int = 200, *, cookie: bool = True, **context):
    """Render a page template (cookie=False: a form-less answer that sets no cookie)."""
    if cookie:
        context.setdefault("csrf_field", CSRF_FIELD)
        context.setdefault("csrf_token", csrf_token(request, app_settings(request)))
    response = page_templates(request).TemplateResponse(request, name, context, status_code=status_code)
    if cookie:
        set_csrf_cookie(request, app_settings(request), response)
    return response
