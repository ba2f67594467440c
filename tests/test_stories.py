"""The seed-format parser on the real seed file and its variants, and dedup on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, date

import pytest
from sqlalchemy import func, select

from service.core.config import REPO_ROOT
from service.models import Story
from service.stories import (
    SourceIn,
    StoryFormatError,
    StoryIn,
    parse_json_stories,
    parse_seed_text,
    upsert_stories,
    upsert_story,
)
from service.stories.files import read_story_file

SEED = REPO_ROOT / "demo" / "stories" / "000_17749a4977b85c87.txt"
SEED_TEXT = SEED.read_text(encoding="utf-8")
SEED_LINES = SEED_TEXT.splitlines()
TITLE = "India and Japan Strengthen Ties with New Defence Tech and Economic Security Initiatives"
SOURCES = [
    {
        "publisher": "Ministry of Foreign Affairs of Japan",
        "title": "Working Dinner between State Minister for Foreign Affairs KUNIMITSU and H.E. Shekerinska, "
        "NATO Deputy Secretary General",
        "url": None,
    },
    {
        "publisher": "Ministry of Foreign Affairs of Japan",
        "title": "Courtesy Call on State Minister KUNIMITSU by the delegation of Members of Indian Parliament",
        "url": None,
    },
]
NON_ASCII = [
    "Zürich and Kyiv — Київ: talks resume",
    "March 7, 2026",
    "Delegates met in Zürich; the Kyiv — Київ delegation arrived late.",
    "東京で首脳会談が開かれた。",
    "Prices quoted in € and ¥, «with» “curly quotes”.",
    "Summary based on 1 source",
    "Get a daily email with more Europe & Asia stories",
    "Sources",
    "",
    "Neue Zürcher Zeitung",
    "Gespräche in Zürich — Київ reagiert",
]


def text_of(lines: list[str]) -> str:
    """Lines back into a file's text."""
    return "\n".join(lines) + "\n"


def line_no(lines: list[str], text: str) -> int:
    """The 1-based number of the first line equal to text."""
    return lines.index(text) + 1


def without(lines: list[str], *texts: str) -> list[str]:
    """The lines minus the first line equal to each text."""
    kept = list(lines)
    for text in texts:
        kept.remove(text)
    return kept


def replaced(lines: list[str], old: str, new: str) -> list[str]:
    """The lines with one line swapped."""
    return [new if line == old else line for line in lines]


# --- the real seed file -------------------------------------------------------------------------------------------


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


# --- encodings and line ends --------------------------------------------------------------------------------------


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


# --- the summary, category and source lines ----------------------------------------------------------------------


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


# --- malformed files: the error names the file and the line ------------------------------------------------------


def malformed_cases():
    """(id, lines, expected line number, words in the message)."""
    seed = SEED_LINES
    long_title = "A" * 501
    return [
        ("missing-date", without(seed, "March 6, 2026"), 2, "expected a date"),
        ("bad-date", replaced(seed, "March 6, 2026", "March 32, 2026"), 2, "March 32, 2026"),
        ("not-a-date", replaced(seed, "March 6, 2026", "Sometime last week"), 2, "expected a date"),
        ("missing-title", seed[1:], 1, "title"),
        (
            "missing-summary",
            without(seed, "Summary based on 11 sources"),
            line_no(seed, "Get a daily email with more World News stories") - 1,
            "Summary based on N sources",
        ),
        ("summary-and-rest-missing", seed[:14], 14, "Summary based on N sources"),
        ("no-key-points", seed[:2] + seed[14:], 3, "no key points"),
        (
            "missing-category",
            without(seed, "Get a daily email with more World News stories"),
            line_no(seed, "Sources") - 1,
            "Get a daily email with more",
        ),
        ("missing-sources-line", without(seed, "Sources"), line_no(seed, "Sources") + 1, "'Sources'"),
        ("odd-source-lines", seed[:-1], len(seed) - 1, "no article title line"),
        ("long-title", [long_title, *seed[1:]], 1, "longer than 500"),
        (
            "long-category",
            replaced(
                seed,
                "Get a daily email with more World News stories",
                f"Get a daily email with more {'X' * 101} stories",
            ),
            line_no(seed, "Get a daily email with more World News stories"),
            "longer than 100",
        ),
        ("nul-byte", replaced(seed, seed[5], seed[5] + "\x00"), 6, "control character U+0000"),
        ("title-only", seed[:1], 1, "date line"),
    ]


@pytest.mark.parametrize(
    "lines, line, words", [case[1:] for case in malformed_cases()], ids=[case[0] for case in malformed_cases()]
)
def test_malformed_file_names_file_and_line(tmp_path, lines, line, words):
    path = tmp_path / "story.txt"
    path.write_text(text_of(lines), encoding="utf-8")
    with pytest.raises(StoryFormatError) as caught:
        read_story_file(path)
    error = caught.value
    assert (error.where, error.line) == (str(path), line), error.message
    assert error.message.startswith(f"{path}, line {line}: ")
    assert words in error.message


@pytest.mark.parametrize("text", ["", "\n\n  \n", "\ufeff", "\r\n\r\n"], ids=["empty", "blank", "bom-only", "crlf"])
def test_empty_file_is_an_error_at_line_1(text):
    with pytest.raises(StoryFormatError, match=r"^empty\.txt, line 1: the file is empty"):
        parse_seed_text(text, "empty.txt")


def test_line_numbers_count_crlf_lines_and_a_bom_like_a_text_editor():
    lines = replaced(SEED_LINES, "March 6, 2026", "Marhc 6, 2026")
    with pytest.raises(StoryFormatError) as caught:
        parse_seed_text("\ufeff" + "\r\n".join(lines), "crlf.txt")
    assert caught.value.line == 2


# --- JSON items (the schema the admin API and .json files share) -------------------------------------------------


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


# --- storage and dedup (SQLite and PostgreSQL) -------------------------------------------------------------------


def naive_utc(moment):
    """SQLite hands back stored UTC times without their tzinfo; compare both backends in naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def story_count(db) -> int:
    """Rows in the stories table, read fresh."""
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Story))


def test_seed_story_is_stored_with_everything(db):
    row, created = upsert_story(db, parse_seed_text(SEED_TEXT, str(SEED)))
    db.commit()
    db.expire_all()
    stored = db.get(Story, row.id)
    assert created
    assert (stored.title, stored.story_date, stored.category, stored.source_count) == (
        TITLE,
        date(2026, 3, 6),
        "World News",
        11,
    )
    assert stored.key_points == SEED_LINES[2:14]
    assert stored.sources == SOURCES
    assert (stored.origin, stored.origin_ref, stored.external_id) == ("file", str(SEED), None)
    assert stored.received_at is not None and stored.updated_at is not None


def test_same_story_twice_is_one_row_updated(db):
    first, created = upsert_story(db, parse_seed_text(SEED_TEXT, "a/seed.txt"))
    db.commit()
    received, updated = first.received_at, first.updated_at
    corrected = replaced(SEED_LINES, SEED_LINES[2], "A corrected first key point.")
    corrected = replaced(corrected, "Summary based on 11 sources", "Summary based on 12 sources")
    again, created_again = upsert_story(db, parse_seed_text(text_of(corrected), "b/seed.txt"))
    db.commit()
    assert created and not created_again
    assert again.id == first.id
    assert story_count(db) == 1
    row = db.get(Story, first.id)
    assert row.key_points[0] == "A corrected first key point." and row.source_count == 12
    assert row.origin_ref == "b/seed.txt", "where it came from last"
    assert naive_utc(row.received_at) == naive_utc(received), "first taken in: unchanged"
    assert naive_utc(row.updated_at) >= naive_utc(updated)


def test_dedup_ignores_case_spacing_bom_and_line_ends(db):
    variants = [
        SEED_TEXT,
        "\ufeff" + SEED_TEXT.replace("\n", "\r\n"),
        text_of(replaced(SEED_LINES, TITLE, "  " + TITLE.upper().replace(" ", "   ") + "  ")),
    ]
    assert upsert_stories(db, [parse_seed_text(text, "x.txt") for text in variants]) == (1, 2)
    assert story_count(db) == 1


def test_same_title_on_another_day_is_another_story(db):
    other_day = replaced(SEED_LINES, "March 6, 2026", "March 7, 2026")
    assert upsert_stories(db, [parse_seed_text(SEED_TEXT, "a.txt"), parse_seed_text(text_of(other_day), "b.txt")]) == (
        2,
        0,
    )
    assert story_count(db) == 2


def test_seed_file_and_json_without_id_are_the_same_story(db):
    upsert_stories(db, [parse_seed_text(SEED_TEXT, "seed.txt")])
    [from_json] = parse_json_stories(
        {"title": TITLE, "date": "2026-03-06", "key_points": ["Updated point."]}, "upload.json"
    )
    assert upsert_stories(db, [from_json]) == (0, 1)
    row = db.scalars(select(Story)).one()
    assert (row.key_points, row.origin, row.origin_ref) == (["Updated point."], "json", "upload.json")


def test_json_id_keeps_a_story_one_story_even_when_its_title_changes(db):
    first = parse_json_stories({"id": "wire-42", "title": "Draft title", "key_points": ["a"]}, "up.json")
    second = parse_json_stories({"id": "wire-42", "title": "Final title", "key_points": ["a", "b"]}, "up.json")
    assert upsert_stories(db, first) == (1, 0)
    assert upsert_stories(db, second) == (0, 1)
    row = db.scalars(select(Story)).one()
    assert (row.title, row.external_id, row.key_points) == ("Final title", "wire-42", ["a", "b"])


def test_non_ascii_story_round_trips_through_the_database(db):
    lines = [*NON_ASCII[:4], "株式市場は小幅高で取引を終えた。", *NON_ASCII[4:]]
    row, _ = upsert_story(db, parse_seed_text(text_of(lines), "intl.txt"))
    db.commit()
    db.expire_all()
    stored = db.get(Story, row.id)
    assert stored.title == "Zürich and Kyiv — Київ: talks resume"
    assert stored.key_points[1:3] == ["東京で首脳会談が開かれた。", "株式市場は小幅高で取引を終えた。"]
    assert stored.sources[0]["title"] == "Gespräche in Zürich — Київ reagiert"
    assert stored.source_count == 1


def test_same_story_twice_in_one_batch_is_one_row(db):
    story = parse_seed_text(SEED_TEXT, "x.txt")
    assert upsert_stories(db, [story, story]) == (1, 1)
    assert story_count(db) == 1
