"""The seed-format parser on the real seed file: fields, encodings, line ends, summary, category and source lines."""

from __future__ import annotations

from datetime import date

import pytest

from service.stories import (
    StoryFormatError,
    parse_seed_text,
)
from service.stories.files import read_story_file
from tests.support.story_seed import NON_ASCII, SEED, SEED_LINES, SEED_TEXT, SOURCES, TITLE, replaced, text_of


def test_the_seed_file():
    story = parse_seed_text(SEED_TEXT, str(SEED))
    assert story.title == TITLE
    assert story.story_date == date(2026, 3, 6)
    assert story.category == "World News"
    assert story.source_count == 11
    assert story.key_points == SEED_LINES[2:14], "all twelve key points, in file order"
    assert story.key_points[0].startswith("Private-sector-led cooperation was stressed")
    assert story.key_points[-1].startswith("Meetings aimed to reaffirm")
    assert "Modi’s congratulatory message" in story.key_points[4]
    assert story.sources == SOURCES
    assert (story.origin, story.origin_ref, story.external_id) == ("file", str(SEED), None)


def test_count_in_summary_line_is_kept_even_when_fewer_sources_are_listed():
    # The product's own seed says "11 sources" and lists two: the count is the summary's, not a checksum.
    story = parse_seed_text(SEED_TEXT, "seed.txt")
    assert (story.source_count, len(story.sources)) == (11, 2)


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda text: "\ufeff" + text, id="bom"),
        pytest.param(lambda text: text.replace("\n", "\r\n"), id="crlf"),
        pytest.param(lambda text: text.replace("\n", "\r"), id="cr"),
        pytest.param(lambda text: "\ufeff" + text.replace("\n", "\r\n"), id="bom+crlf"),
        pytest.param(lambda text: text.replace("\n", "  \t\n"), id="trailing-spaces"),
        pytest.param(lambda text: text.rstrip("\n"), id="no-final-newline"),
        pytest.param(lambda text: "\n\n" + text + "\n\n\n", id="blank-lines-around"),
    ],
)
def test_variants_parse_like_the_seed(variant):
    assert parse_seed_text(variant(SEED_TEXT), "seed.txt") == parse_seed_text(SEED_TEXT, "seed.txt")


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda text: text.encode("utf-8"), id="utf-8"),
        pytest.param(lambda text: text.encode("utf-8-sig"), id="utf-8-bom"),
        pytest.param(lambda text: text.replace("\n", "\r\n").encode("utf-8-sig"), id="utf-8-bom-crlf"),
    ],
)
def test_files_on_disk_in_each_encoding(tmp_path, encode):
    path = tmp_path / "story.txt"
    path.write_bytes(encode(SEED_TEXT))
    [story] = read_story_file(path)
    assert story == parse_seed_text(SEED_TEXT, str(path))


def test_non_ascii_text():
    story = parse_seed_text(text_of(NON_ASCII), "intl.txt")
    assert story.title == "Zürich and Kyiv — Київ: talks resume"
    assert story.key_points == NON_ASCII[2:5]
    assert story.category == "Europe & Asia"
    assert story.sources == [
        {"publisher": "Neue Zürcher Zeitung", "title": "Gespräche in Zürich — Київ reagiert", "url": None}
    ]


def test_file_that_is_not_utf8_names_the_file(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(text_of(NON_ASCII[:1] + SEED_LINES[1:]).encode("cp1251", errors="replace"))
    with pytest.raises(StoryFormatError, match=r"latin1\.txt, line 1: not UTF-8"):
        read_story_file(path)


@pytest.mark.parametrize(
    "line, count",
    [
        ("Summary based on 1 source", 1),
        ("Summary based on 1 sources", 1),
        ("Summary based on 2 sources", 2),
        ("summary based on 40 Sources", 40),
    ],
)
def test_summary_line(line, count):
    lines = replaced(SEED_LINES, "Summary based on 11 sources", line)
    assert parse_seed_text(text_of(lines), "x.txt").source_count == count


@pytest.mark.parametrize(
    "line, category",
    [
        ("Get a daily email with more World News stories", "World News"),
        ("Get a daily email with more Science stories", "Science"),
        ("Get a daily email with more Business & Economy stories", "Business & Economy"),
        ("Get a daily email with more Kyiv — Київ stories", "Kyiv — Київ"),
    ],
)
def test_category_is_the_words_between_more_and_stories(line, category):
    lines = replaced(SEED_LINES, "Get a daily email with more World News stories", line)
    assert parse_seed_text(text_of(lines), "x.txt").category == category


def test_sources_come_in_publisher_and_title_pairs_with_optional_url():
    lines = [
        *SEED_LINES[:18],
        "Reuters",
        "Japan and India sign economic security pact",
        "https://www.reuters.com/world/asia/pact",
        "日本経済新聞",
        "日印、経済安保で協力",
        "Kyiv Independent",
        "Київ welcomes the talks",
    ]
    assert parse_seed_text(text_of(lines), "x.txt").sources == [
        {
            "publisher": "Reuters",
            "title": "Japan and India sign economic security pact",
            "url": "https://www.reuters.com/world/asia/pact",
        },
        {"publisher": "日本経済新聞", "title": "日印、経済安保で協力", "url": None},
        {"publisher": "Kyiv Independent", "title": "Київ welcomes the talks", "url": None},
    ]


def test_no_sources_listed_after_the_sources_line():
    assert parse_seed_text(text_of(SEED_LINES[:17]), "x.txt").sources == []
