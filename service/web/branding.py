"""Branding on the web: the `brand` every page template sees, and the uploaded logos served from our own origin."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError

from service.branding.brand import Brand, configured_brand, site_brand
from service.branding.logos import load_logo
from service.core.db import session_factory
from service.core.errors import UnknownPage
from service.lists.rules import get_list
from service.web.deps import SessionDep, app_settings

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)


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


def _logo_response(logo) -> Response:
    """The image bytes; the URL carries a version, so browsers may keep it for a day."""
    if logo is None:
        raise UnknownPage("There is no logo here.")
    return Response(
        logo.data,
        media_type=logo.content_type,
        headers={"Cache-Control": "public, max-age=86400", "Content-Disposition": "inline"},
    )


@router.get("/brand/logo")
def site_logo(session: SessionDep):
    """The site's uploaded logo."""
    return _logo_response(load_logo(session, None))


@router.get("/brand/logo/{slug}")
def list_logo(slug: str, session: SessionDep):
    """A list's uploaded logo."""
    return _logo_response(load_logo(session, get_list(session, slug).id))
