"""A story's public page: what the edition's "Read more" opens, with every source and item, and a way to subscribe."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from fastapi import APIRouter, Request

from service.i18n.formats import clock, short_date
from service.i18n.locales import DEFAULT
from service.i18n.templating import translate_plural
from service.lists.rules import list_for_category
from service.models import Story, as_utc
from service.stories.store import find_story
from service.web.deps import SessionDep, page_templates
from service.web.language import page_language, use_language

router = APIRouter()
PAGE_404: dict[int | str, dict[str, Any]] = {
    404: {"description": "There is no such story", "content": {"text/html": {"schema": {"type": "string"}}}}
}


def coverage(story: Story, language: str = DEFAULT) -> list[dict[str, Any]]:
    """The story's items newest first, each with its time in UTC (items that came after the edition belong here too)."""
    rows = []
    for item in sorted(story.items, key=lambda item: (as_utc(item.published_at), item.id), reverse=True):
        when = as_utc(item.published_at).astimezone(UTC)
        rows.append(
            {
                "item": item,
                "when": f"{short_date(when, language)}, {clock(when, language)} UTC",
                "iso": when.isoformat(),
                "dated": item.dated,
            }
        )
    return rows


def by_publisher(story: Story, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The articles grouped by publisher: the story's sources' order first (the lead's publisher leads), then newest."""
    groups: dict[str, dict[str, Any]] = {}
    for source in story.sources or []:
        name = " ".join(str(source.get("publisher") or "").split())
        if name:
            groups.setdefault(name.casefold(), {"publisher": name, "rows": []})
    for row in rows:
        name = " ".join(row["item"].publisher.split()) or "Unknown publisher"
        groups.setdefault(name.casefold(), {"publisher": name, "rows": []})["rows"].append(row)
    return [group for group in groups.values() if group["rows"]]


@router.get("/stories/{story_id}", responses=PAGE_404)
def story_page(request: Request, story_id: str, session: SessionDep):
    """One story: its key points, sources and coverage, and the list that brings more like it."""
    story = find_story(session, story_id)
    offered = list_for_category(session, story.category)
    if offered is not None:
        use_language(request, offered.locale)
    language = page_language(request)
    rows = coverage(story, language)
    groups = by_publisher(story, rows)
    tally = translate_plural(
        language,
        "%(num)s article from %(publishers)s",
        "%(num)s articles from %(publishers)s",
        len(rows),
        publishers=translate_plural(language, "%(num)s publisher", "%(num)s publishers", len(groups)),
    )
    context = {
        "story": story,
        "coverage": rows,
        "groups": groups,
        "tally": tally,
        "declared": story.hand_written and story.source_count != len(groups),
        "list": offered,
    }
    return page_templates(request).TemplateResponse(request, "story.html", context)
