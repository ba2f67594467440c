"""Admin JSON API for stories: take in, list, show, edit and delete (the caller is checked by the admin router)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from service.admin import audit
from service.core.errors import ServiceError
from service.stories import (
    parse_json_stories,
    recent_stories,
    story_as_json,
    upsert_stories,
)
from service.stories.store import LARGEST_ID, delete_story, edit_story, find_story
from service.web.admin.auth import readable_by_viewers
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep
from service.web.openapi import ADMIN_ERRORS, REASONS, ErrorBody, StoriesStored

router = APIRouter()


@router.post(
    "/stories",
    status_code=201,
    response_model=StoriesStored,
    responses=ADMIN_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/StoryIn"},
                            {"type": "array", "items": {"$ref": "#/components/schemas/StoryIn"}},
                            {
                                "type": "object",
                                "required": ["stories"],
                                "properties": {
                                    "stories": {"type": "array", "items": {"$ref": "#/components/schemas/StoryIn"}}
                                },
                            },
                        ]
                    }
                }
            },
        }
    },
)
async def post_stories(request: Request, admin: CurrentAdmin, session: SessionDep):
    """Take in one story, a list, or {"stories": [...]}; all are validated before any is stored."""
    try:
        data = json.loads(await request.body())
    except (ValueError, RecursionError) as error:  # JSONDecodeError, UnicodeDecodeError, absurd nesting
        raise ServiceError(f"The body is not valid JSON: {error}") from None
    stories = parse_json_stories(data, where="request body", origin="json")
    created, updated = upsert_stories(session, stories)
    audit.record(
        session,
        actor=admin.name,
        action="stories.import",
        object_type="story",
        details={"created": created, "updated": updated, "via": "api"},
        ip=client_ip(request),
    )
    session.commit()
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


class PointOut(BaseModel):
    """One key point and who said it (publisher None: the story's own words, as in a hand-written story)."""

    text: str
    publisher: str | None
    item_url: str | None


class StoryOut(BaseModel):
    """A story as story_as_json shows it: sources one per publisher, and every member item."""

    id: int
    title: str
    date: str | None
    category: str
    language: str | None
    hand_written: bool
    source_count: int
    key_points: list[PointOut]
    sources: list[SourceOut]
    items: list[ItemOut]
    newest_item_at: str | None


READ_ERRORS: dict[int | str, dict[str, Any]] = {code: ADMIN_ERRORS[code] for code in (400, 401, 422, 429)}
NO_STORY: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": REASONS[404]}}


@router.get("/stories", response_model=list[StoryOut], responses=READ_ERRORS)
@readable_by_viewers
def list_stories(session: SessionDep, limit: int = Query(50, ge=0, description="How many, freshest first; 0 for all")):
    """The freshest stories with their sources and items, as `newsletter stories list --json` shows them."""
    stories = recent_stories(session, limit if 0 < limit <= LARGEST_ID else None)
    return JSONResponse([story_as_json(story) for story in stories])


@router.get("/stories/{story_id}", response_model=StoryOut, responses={**READ_ERRORS, **NO_STORY})
@readable_by_viewers
def show_story(story_id: int, session: SessionDep):
    """One story with its key points, sources and items; 404 for an id that names none."""
    return JSONResponse(story_as_json(find_story(session, story_id)))


class StoryPatch(BaseModel):
    """The fields an admin may change; those left out stay. The story becomes hand-written (keeps its points)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    title: str | None = None
    key_points: list[str] | None = Field(default=None, description="One string per key point, at least one")
    category: str | None = None
    story_date: date | None = Field(default=None, alias="date", description="YYYY-MM-DD; null clears it")


class StoryDeleted(BaseModel):
    """What DELETE did: built editions that carry the story keep it in their frozen, rendered HTML."""

    id: int
    title: str
    kept_by_editions: list[int]


@router.patch("/stories/{story_id}", response_model=StoryOut, responses={**ADMIN_ERRORS, **NO_STORY})
def patch_story(story_id: int, changes: StoryPatch, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Change a story's title, key points, category or date; later items never overwrite them."""
    given = changes.model_fields_set
    story, changed = edit_story(
        session,
        story_id,
        title=changes.title,
        key_points=changes.key_points,
        category=changes.category,
        story_date=changes.story_date,
        clear_date="story_date" in given and changes.story_date is None,
    )
    audit.record(
        session,
        actor=admin.name,
        action="story.update",
        object_type="story",
        object_id=story.id,
        details={"changed": sorted(changed), "title": story.title, "via": "api"},
        ip=client_ip(request),
    )
    session.commit()
    return JSONResponse(story_as_json(find_story(session, story.id)))


@router.delete("/stories/{story_id}", response_model=StoryDeleted, responses={**ADMIN_ERRORS, **NO_STORY})
def remove_story(story_id: int, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Delete a story and its items; editions already built with it keep it as rendered."""
    story, frozen = delete_story(session, story_id)
    kept = [edition.id for edition in frozen]
    audit.record(
        session,
        actor=admin.name,
        action="story.delete",
        object_type="story",
        object_id=story.id,
        details={"title": story.title, "kept_by_editions": kept, "via": "api"},
        ip=client_ip(request),
    )
    session.commit()
    return StoryDeleted(id=story.id, title=story.title, kept_by_editions=kept)
