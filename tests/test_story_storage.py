"""Stories stored and deduplicated on SQLite and PostgreSQL: one row per story, updated in place."""

from __future__ import annotations

from datetime import UTC, date

from sqlalchemy import func, select

from service.models import Story
from service.stories import (
    parse_json_stories,
    parse_seed_text,
    upsert_stories,
    upsert_story,
)
from tests.support.story_seed import NON_ASCII, SEED, SEED_LINES, SEED_TEXT, SOURCES, TITLE, replaced, text_of


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
