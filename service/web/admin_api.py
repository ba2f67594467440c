"""Admin JSON API, protected by ADMIN_TOKEN until real admin accounts arrive."""
from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.orm import Session

from service.errors import ServiceError
from service.stories import (
    parse_json_stories,
    recent_stories,
    story_as_json,
    upsert_stories,
)
from service.stories.store import LARGEST_ID, find_story
from service.web.common import client_ip, get_session
from service.web.openapi import ADMIN_ERRORS, REASONS, ErrorBody, StoriesStored

router = APIRouter(prefix="/api/admin", tags=["admin"])
bearer = HTTPBearer(auto_error=False, scheme_name="AdminToken",
                    description="`Authorization: Bearer <ADMIN_TOKEN>` (at least 32 characters outside development)")


class NotAuthorised(ServiceError):
    """A missing or wrong admin token."""

    code = "not_authorised"


def require_admin(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
    """Bearer ADMIN_TOKEN; the API is off while no token is configured; guessing is throttled per IP."""
    expected = request.app.state.settings.admin_token
    if not expected:
        raise NotAuthorised("The admin API is disabled: set ADMIN_TOKEN to enable it.")
    throttle = request.app.state.admin_throttle
    throttle.check(client_ip(request))
    # bytes, not str: compare_digest raises TypeError on non-ASCII text (headers arrive as latin-1)
    supplied = (credentials.credentials if credentials else "").strip().encode("utf-8", "surrogateescape")
    if not supplied or not hmac.compare_digest(supplied, expected.encode("utf-8", "surrogateescape")):
        throttle.failed(client_ip(request))
        raise NotAuthorised("Missing or wrong admin token (Authorization: Bearer <ADMIN_TOKEN>).")


@router.post("/stories", dependencies=[Depends(require_admin)], status_code=201, response_model=StoriesStored,
             responses=ADMIN_ERRORS, openapi_extra={"requestBody": {
                 "required": True, "content": {"application/json": {"schema": {"oneOf": [
                     {"$ref": "#/components/schemas/StoryIn"},
                     {"type": "array", "items": {"$ref": "#/components/schemas/StoryIn"}},
                     {"type": "object", "required": ["stories"], "properties": {
                         "stories": {"type": "array", "items": {"$ref": "#/components/schemas/StoryIn"}}}},
                 ]}}}}})
async def post_stories(request: Request, session: Session = Depends(get_session)):
    """Take in one story, a list, or {"stories": [...]}; all are validated before any is stored."""
    try:
        data = json.loads(await request.body())
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError, absurd nesting
        raise ServiceError(f"The body is not valid JSON: {error}") from None
    stories = parse_json_stories(data, where="request body", origin="json")
    created, updated = upsert_stories(session, stories)
    return JSONResponse({"created": created, "updated": updated}, status_code=201)


class SourceOut(BaseModel):
    """One publisher's article a story names as its source."""

    publisher: str | None
    title: str | None
    url: str | None


class ItemOut(BaseModel):
    """One member item of a story, as it came in."""

    publisher: str
    title: str
    url: str | None
    published: str | None


class StoryOut(BaseModel):
    """A story as story_as_json shows it: sources one per publisher, and every member item."""

    id: int
    title: str
    date: str | None
    category: str
    language: str | None
    hand_written: bool
    source_count: int
    key_points: list[str]
    sources: list[SourceOut]
    items: list[ItemOut]
    newest_item_at: str | None


READ_ERRORS: dict[int | str, dict[str, Any]] = {code: ADMIN_ERRORS[code] for code in (400, 401, 422, 429)}
NO_STORY: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": REASONS[404]}}


@router.get("/stories", dependencies=[Depends(require_admin)], response_model=list[StoryOut], responses=READ_ERRORS)
def list_stories(limit: int = Query(50, ge=0, description="How many, freshest first; 0 for all"),
                 session: Session = Depends(get_session)):
    """The freshest stories with their sources and items, as `newsletter stories list --json` shows them."""
    stories = recent_stories(session, limit if 0 < limit <= LARGEST_ID else None)
    return JSONResponse([story_as_json(story) for story in stories])


@router.get("/stories/{story_id}", dependencies=[Depends(require_admin)], response_model=StoryOut,
            responses={**READ_ERRORS, **NO_STORY})
def show_story(story_id: int, session: Session = Depends(get_session)):
    """One story with its key points, sources and items; 404 for an id that names none."""
    return JSONResponse(story_as_json(find_story(session, story_id)))

