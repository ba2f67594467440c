"""JSON story items: the seed story's fields, defaults, errors that name the item and field, the documented schema."""

from __future__ import annotations

import json
import re

import pytest

from service.core.config import REPO_ROOT
from service.stories import (
    SourceIn,
    StoryFormatError,
    StoryIn,
    parse_json_stories,
    parse_seed_text,
)
from tests.support.story_seed import SEED_LINES, SEED_TEXT, SOURCES, TITLE


def test_json_story_fields_match_the_seed_story():
    item = {
        "title": TITLE,
        "date": "2026-03-06",
        "category": "World News",
        "key_points": SEED_LINES[2:14],
        "source_count": 11,
        "sources": SOURCES,
    }
    [story] = parse_json_stories([item], "upload.json")
    seed = parse_seed_text(SEED_TEXT, "seed.txt")
    assert (story.title, story.story_date, story.category, story.key_points, story.source_count, story.sources) == (
        seed.title,
        seed.story_date,
        seed.category,
        seed.key_points,
        seed.source_count,
        seed.sources,
    )
    assert (story.origin, story.origin_ref) == ("json", "upload.json")


def test_json_defaults_and_whitespace():
    story = StoryIn.model_validate(
        {
            "title": "  Spaced  ",
            "key_points": ["  one "],
            "sources": [{"publisher": " AP ", "title": " t "}, {"publisher": "BBC"}],
        }
    )
    assert (story.title, story.key_points, story.category) == ("Spaced", ["one"], "World News")
    item = story.to_input("json", "x")
    assert item.source_count == 2, "without source_count, the number of listed sources"
    assert item.sources == [
        {"publisher": "AP", "title": "t", "url": None},
        {"publisher": "BBC", "title": "", "url": None},
    ]


@pytest.mark.parametrize(
    "item, words",
    [
        ({"key_points": ["a"]}, "title: Field required"),
        ({"title": "   ", "key_points": ["a"]}, "title: String should have at least 1 character"),
        ({"title": "T"}, "key_points: Field required"),
        ({"title": "T", "key_points": []}, "key_points"),
        ({"title": "T", "key_points": ["a", " "]}, "key points may not be empty"),
        ({"title": "T", "key_points": ["a"], "date": "March 32, 2026"}, "date:"),
        ({"title": "T\x00", "key_points": ["a"]}, "control character U+0000"),
        ({"title": "Two\r\nlines", "key_points": ["a"]}, "title: Value error, line breaks are not allowed"),
        ({"title": "T", "key_points": ["a", "b\nc"]}, "key_points.1: Value error, line breaks are not allowed"),
        (
            {"title": "T", "key_points": ["a"], "sources": [{"publisher": "P\nQ"}]},
            "sources.0.publisher: Value error, line",
        ),
        ({"title": "T" * 501, "key_points": ["a"]}, "title: String should have at most 500"),
        ({"title": "T", "key_points": ["a"], "sources": [{"title": "no publisher"}]}, "sources.0.publisher"),
        ({"title": "T", "key_points": ["a"], "source_count": -1}, "source_count"),
        ("just a string", "valid dictionary"),
    ],
)
def test_json_item_errors_name_the_item_and_field(item, words):
    good = {"title": "Fine", "key_points": ["ok"]}
    with pytest.raises(StoryFormatError) as caught:
        parse_json_stories({"stories": [good, item]}, "upload.json")
    assert caught.value.message.startswith("upload.json: story #2: ")
    assert words in caught.value.message


def test_the_documented_schema_matches_storyin_and_its_example_parses():
    doc = (REPO_ROOT / "docs" / "story-json.md").read_text(encoding="utf-8")
    story_table, source_table = doc.split("## A story")[1].split("## A source")
    documented = set(re.findall(r"^\| `(\w+)` \|", story_table, re.MULTILINE))
    assert documented == {field.alias or name for name, field in StoryIn.model_fields.items()}
    documented_sources = set(re.findall(r"^\| `(\w+)` \|", source_table.split("##")[0], re.MULTILINE))
    assert documented_sources == set(SourceIn.model_fields)
    required = {name for name, field in StoryIn.model_fields.items() if field.is_required()}
    assert required == set(re.findall(r"^\| `(\w+)` \| [^|]+ \| \*\*yes\*\*", story_table, re.MULTILINE))

    example = json.loads(re.search(r"```json\n(.*?)\n```", doc, re.DOTALL).group(1))
    [story] = parse_json_stories(example, "docs")
    seed = parse_seed_text(SEED_TEXT)
    assert (story.title, story.story_date, story.category, story.key_points, story.source_count, story.sources) == (
        seed.title,
        seed.story_date,
        seed.category,
        seed.key_points,
        seed.source_count,
        seed.sources,
    )
