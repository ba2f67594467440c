"""Stories: items from feeds, JSON and files, grouped into multi-source stories that editions are made of."""

from __future__ import annotations

from service.stories.formats import (
    SourceIn,
    StoryFormatError,
    StoryIn,
    StoryInput,
    parse_json_stories,
    parse_json_text,
    parse_seed_text,
    parse_story_date,
)
from service.stories.store import get_story, recent_stories, story_as_json, upsert_stories, upsert_story

__all__ = [
    "SourceIn",
    "StoryFormatError",
    "StoryIn",
    "StoryInput",
    "get_story",
    "parse_json_stories",
    "parse_json_text",
    "parse_seed_text",
    "parse_story_date",
    "recent_stories",
    "story_as_json",
    "upsert_stories",
    "upsert_story",
]
