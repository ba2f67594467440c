"""Rendering a reader page: the brand it shows, the CSRF token in reach of every form, and its cookie when minted."""

from __future__ import annotations

import logging

from fastapi import Request
from sqlalchemy.exc import SQLAlchemyError

from service.branding.brand import Brand, configured_brand, site_brand
from service.core.db import session_factory
from service.web.deps import app_settings, page_templates
from service.web.security import CSRF_FIELD, csrf_token, set_csrf_cookie

log = logging.getLogger(__name__)


def render_page(request: Request, name: str, status_code: int = 200, *, cookie: bool = True, **context):
    """Render a page template (cookie=False: a form-less answer that sets no cookie)."""
    if cookie:
        context.setdefault("csrf_field", CSRF_FIELD)
        context.setdefault("csrf_token", csrf_token(request, app_settings(request)))
    response = page_templates(request).TemplateResponse(request, name, context, status_code=status_code)
    if cookie:
        set_csrf_cookie(request, app_settings(request), response)
    return response


def use_brand(request: Request, brand: Brand) -> None:
    """Show this page's content with a list's brand (its name, about text and accent); the header stays the site's."""
    request.state.brand = brand


def brand_context(request: Request) -> dict[str, Brand]:
    """Jinja2 context processor for every page template: `site`, the site's brand for the header and footer, and
    `brand`, the brand of what the page is about (a list's, where a page is one list's, else the site's)."""
    settings = app_settings(request)
    try:
        with session_factory(settings.effective_database_url)() as session:
            site = site_brand(session, settings)
    except SQLAlchemyError:  # the error page for a database outage still needs a header
        log.warning("branding unavailable (database error); using the configured brand")
        site = configured_brand(settings)
    return {"site": site, "brand": getattr(request.state, "brand", None) or site}
