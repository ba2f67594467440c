"""Branding on the web: the uploaded logos, served from our own origin (page_render gives templates the brand)."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import Response

from service.branding.logos import load_logo
from service.core.errors import UnknownPage
from service.lists.rules import get_list
from service.web.deps import SessionDep

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)


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
