"""Admin screen: stories — the list and a story's page (viewers too), edit, delete and import (admins)."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile

from service.admin import audit
from service.core.errors import InvalidInput
from service.models import Story
from service.stories import StoryInput, parse_json_text, parse_seed_text, upsert_stories
from service.stories.files import MAX_FILE_BYTES
from service.stories.items import items_per_story
from service.stories.store import (
    delete_story,
    edit_story,
    editions_carrying,
    find_story,
    story_categories,
    story_page,
)
from service.web.admin.auth import readable_by_viewers
from service.web.admin.render import done, page
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep

router = APIRouter(prefix="/admin")
PAGE_SIZE = 50


def _cursor(raw: str | None) -> int | None:
    """The `before` of a page link: a story id; anything else starts at the top."""
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 12 else None


@router.get("/stories")
@readable_by_viewers
def stories_list(
    request: Request, admin: CurrentAdmin, session: SessionDep, before: str | None = None, category: str | None = None
):
    """The freshest stories first, a page at a time, optionally of one category."""
    category = (category or "").strip()[:100] or None
    rows = story_page(session, limit=PAGE_SIZE + 1, before=_cursor(before), category=category)
    more, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
    counts = items_per_story(session, [row.id for row in rows]) if rows else {}
    next_url = None
    if more:
        query = {"before": rows[-1].id, **({"category": category} if category else {})}
        next_url = f"/admin/stories?{urlencode(query)}"
    return page(
        request,
        "stories/index.html",
        title="Stories",
        rows=rows,
        counts=counts,
        next_url=next_url,
        categories=story_categories(session),
        category=category or "",
        paged=before is not None,
    )


def _import_form(request: Request, *, pasted: str = "", error: str | None = None, status_code: int = 200):
    """The import form, with what was pasted and what was wrong with it."""
    return page(
        request,
        "stories/import.html",
        status_code,
        title="Import stories",
        pasted=pasted,
        error=error,
        max_mb=MAX_FILE_BYTES // (1024 * 1024),
    )


@router.get("/stories/import")
def import_form(request: Request, admin: CurrentAdmin):
    """Upload a seed-format .txt or a JSON file, or paste JSON."""
    return _import_form(request)


def _parse_upload(name: str, raw: bytes) -> list[StoryInput]:
    """A file by its suffix (JSON, else the seed text format), as `newsletter stories import` reads it."""
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidInput(f"{name}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"{name}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    if name.lower().endswith(".json") or text.lstrip()[:1] in ("{", "["):
        return parse_json_text(text, name)
    return [parse_seed_text(text, name)]


@router.post("/stories/import")
async def import_stories(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    file: UploadFile | None = File(None),
    pasted: str = Form(""),
):
    """Validate every story of the file or paste, then store them all (the same story again is updated)."""
    raw = await file.read() if file is not None and file.filename else b""
    try:
        if raw:
            name = (file.filename if file else "") or "upload"
            stories, via = _parse_upload(name[:200], raw), f"upload {name[:200]}"
        elif pasted.strip():
            stories, via = parse_json_text(pasted, "pasted JSON"), "pasted JSON"
        else:
            raise InvalidInput("Choose a .txt or .json file, or paste JSON.")
    except InvalidInput as error:
        return _import_form(request, pasted=pasted, error=error.message, status_code=422)
    created, updated = upsert_stories(session, stories, commit=False)
    audit.record(
        session,
        actor=admin.name,
        action="stories.import",
        object_type="story",
        details={"created": created, "updated": updated, "via": via},
        ip=client_ip(request),
    )
    session.commit()
    return done("/admin/stories", f"Imported {len(stories)} stories: {created} new, {updated} updated.")


@router.get("/stories/{story_id}")
@readable_by_viewers
def story_detail(request: Request, admin: CurrentAdmin, story_id: str, session: SessionDep):
    """One story: key points, sources one per publisher, and every member item."""
    story = find_story(session, story_id)
    return page(
        request, "stories/detail.html", title=story.title, story=story, editions=editions_carrying(session, story.id)
    )


def _edit_values(story: Story) -> dict[str, Any]:
    """A story as the edit form shows it: key points one per line."""
    return {
        "title": story.title,
        "key_points": "\n".join(story.key_points or []),
        "category": story.category,
        "date": story.story_date.isoformat() if story.story_date else "",
    }


def _edit_form(
    request: Request, story: Story, values: dict[str, Any], error: str | None = None, status_code: int = 200
):
    """The edit form with the typed values."""
    return page(
        request, "stories/edit.html", status_code, title=f"Edit: {story.title}", story=story, values=values, error=error
    )


@router.get("/stories/{story_id}/edit")
def edit_form(request: Request, admin: CurrentAdmin, story_id: str, session: SessionDep):
    """Title, key points, category and date of a story."""
    story = find_story(session, story_id)
    return _edit_form(request, story, _edit_values(story))


@router.post("/stories/{story_id}/edit")
def edit(
    request: Request,
    admin: CurrentAdmin,
    story_id: str,
    session: SessionDep,
    title: str = Form(""),
    key_points: str = Form(""),
    category: str = Form(""),
    story_date: str = Form("", alias="date"),
):
    """Save the story as the admin wrote it; from now on it keeps its own title and key points."""
    story = find_story(session, story_id)
    values = {"title": title, "key_points": key_points, "category": category, "date": story_date}
    points = [line.strip() for line in key_points.splitlines() if line.strip()]
    try:
        day = date.fromisoformat(story_date.strip()) if story_date.strip() else None
    except ValueError:
        return _edit_form(request, story, values, "date: use the form YYYY-MM-DD, or leave it empty.", 422)
    try:
        story, changed = edit_story(
            session, story.id, title=title, key_points=points, category=category, story_date=day, clear_date=day is None
        )
    except InvalidInput as error:  # checked before anything changed
        return _edit_form(request, story, values, error.message, 422)
    audit.record(
        session,
        actor=admin.name,
        action="story.update",
        object_type="story",
        object_id=story.id,
        details={"changed": sorted(changed), "title": story.title},
        ip=client_ip(request),
    )
    session.commit()
    return done(f"/admin/stories/{story.id}", "Story saved; it keeps these key points when new items join it.")


@router.get("/stories/{story_id}/delete")
def delete_form(request: Request, admin: CurrentAdmin, story_id: str, session: SessionDep):
    """Confirm: what goes (the story, its items) and what stays (editions already built with it)."""
    story = find_story(session, story_id)
    return page(
        request,
        "stories/delete.html",
        title=f"Delete: {story.title}",
        story=story,
        editions=editions_carrying(session, story.id),
    )


@router.post("/stories/{story_id}/delete")
def delete(request: Request, admin: CurrentAdmin, story_id: str, session: SessionDep):
    """Delete the story and its items; frozen editions keep it in their rendered email and archive page."""
    story, frozen = delete_story(session, story_id)
    audit.record(
        session,
        actor=admin.name,
        action="story.delete",
        object_type="story",
        object_id=story.id,
        details={"title": story.title, "kept_by_editions": [e.id for e in frozen]},
        ip=client_ip(request),
    )
    session.commit()
    count = len(frozen)
    kept = (
        f" {count} built edition{'s' if count != 1 else ''} keep{'s' if count == 1 else ''} it in the rendered email."
        if frozen
        else ""
    )
    return done("/admin/stories", f"Deleted story {story.id} ({story.title[:80]}).{kept}")
