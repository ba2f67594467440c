"""Admin JSON API, protected by ADMIN_TOKEN until real admin accounts arrive."""
from __future__ import annotations

import hmac
import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from service.errors import ServiceError
from service.stories import parse_json_stories, upsert_stories
from service.web.common import get_session

router = APIRouter(prefix="/api/admin")


class NotAuthorised(ServiceError):
    """A missing or wrong admin token."""

    code = "not_authorised"


def require_admin(request: Request) -> None:
    """Bearer ADMIN_TOKEN; the API is off while no token is configured."""
    expected = request.app.state.settings.admin_token
    scheme, _, supplied = request.headers.get("authorization", "").strip().partition(" ")
    if not expected:
        raise NotAuthorised("The admin API is disabled: set ADMIN_TOKEN to enable it.")
    # bytes, not str: compare_digest raises TypeError on non-ASCII text (headers arrive as latin-1)
    supplied_bytes = supplied.strip().encode("utf-8", "surrogateescape")
    if scheme.lower() != "bearer" or not supplied_bytes or not hmac.compare_digest(
            supplied_bytes, expected.encode("utf-8", "surrogateescape")):
        raise NotAuthorised("Missing or wrong admin token (Authorization: Bearer <ADMIN_TOKEN>).")


@router.post("/stories", dependencies=[Depends(require_admin)], status_code=201)
async def post_stories(request: Request, session: Session = Depends(get_session)):
    """Take in one story, a list, or {"stories": [...]}; all are validated before any is stored."""
    try:
        data = json.loads(await request.body())
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError, absurd nesting
        raise ServiceError(f"The body is not valid JSON: {error}") from None
    stories = parse_json_stories(data, where="request body", origin="json")
    created, updated = upsert_stories(session, stories)
    return JSONResponse({"created": created, "updated": updated}, status_code=201)
