"""POST /api/admin/stories: token, validation, dedup and body limits, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.core.config import REPO_ROOT
from service.models import Story
from service.stories import parse_seed_text
from tests.support.admin import NoMail
from tests.support.apps import shared_app

TOKEN = "test-admin-token-0123456789abcdefghijklmn"
URL = "/api/admin/stories"
SEED = parse_seed_text((REPO_ROOT / "demo" / "stories" / "000_17749a4977b85c87.txt").read_text(encoding="utf-8"))
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def admin(settings, db):
    """A client of the real app with an admin token configured (no Celery worker needed)."""
    with TestClient(shared_app(settings.model_copy(update={"admin_token": TOKEN}), notifier=NoMail())) as client:
        yield client


def seed_item(**changes) -> dict:
    """The seed story in the JSON schema."""
    item = {
        "title": SEED.title,
        "date": SEED.story_date.isoformat(),
        "category": SEED.category,
        "key_points": SEED.key_points,
        "source_count": SEED.source_count,
        "sources": SEED.sources,
    }
    return {**item, **changes}


def other_item(number: int, **changes) -> dict:
    """Another valid story."""
    return {
        "title": f"Story number {number}",
        "date": "2026-03-06",
        "key_points": [f"Point of story {number}."],
        "sources": [{"publisher": "Reuters", "title": f"Article {number}"}],
        **changes,
    }


def stored(db) -> dict[str, Story]:
    """Stored stories by title, read fresh."""
    db.expire_all()
    rows = {row.title: row for row in db.scalars(select(Story))}
    db.commit()
    return rows


def assert_json_error(answer, status: int, code: str, *words: str) -> None:
    """A JSON error with a stable code and a sentence that says what is wrong."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["error"] == code
    for word in words:
        assert word in body["detail"], body["detail"]


# --- the token ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="none"),
        pytest.param({"Authorization": "Bearer wrong-token"}, id="wrong"),
        pytest.param({"Authorization": f"Bearer {TOKEN}x"}, id="longer"),
        pytest.param({"Authorization": "Bearer "}, id="empty"),
        pytest.param({"Authorization": f"Basic {TOKEN}"}, id="basic-scheme"),
        pytest.param({"Authorization": TOKEN}, id="no-scheme"),
        pytest.param({"Authorization": "Bearer t\u00e9st".encode("latin-1")}, id="non-ascii-latin1"),
        pytest.param({"Authorization": "Bearer Київ".encode()}, id="non-ascii-utf8"),
    ],
)
def test_without_the_right_token_nothing_is_stored(admin, db, headers):
    answer = admin.post(URL, json=[seed_item()], headers=headers)
    assert_json_error(answer, 401, "not_authorised", "admin token")
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert stored(db) == {}


def test_scheme_is_case_insensitive(admin, db):
    assert admin.post(URL, json=seed_item(), headers={"Authorization": f"bearer {TOKEN}"}).status_code == 201


def test_without_ADMIN_TOKEN_an_empty_bearer_is_refused(settings, db):
    app = shared_app(settings.model_copy(update={"admin_token": None}), notifier=NoMail())
    with TestClient(app) as client:
        answer = client.post(URL, json=seed_item(), headers={"Authorization": "Bearer "})
    assert_json_error(answer, 401, "not_authorised", "ADMIN_TOKEN")
    assert stored(db) == {}


# --- storing ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["object", "list", "wrapped"])
def test_valid_batch_is_stored(admin, db, shape):
    items = [seed_item(), other_item(1, id="wire-1", link="https://example.com/1")]
    body = {"object": items[0], "list": items, "wrapped": {"stories": items}}[shape]
    answer = admin.post(URL, json=body, headers=AUTH)
    assert answer.status_code == 201, answer.text
    expected = 1 if shape == "object" else 2
    assert answer.json() == {"created": expected, "updated": 0}
    rows = stored(db)
    assert len(rows) == expected
    seed = rows[SEED.title]
    assert (seed.story_date, seed.category, seed.source_count) == (SEED.story_date, "World News", 11)
    assert seed.key_points == SEED.key_points and seed.sources == SEED.sources
    assert seed.origin == "json" and seed.received_at is not None
    if shape != "object":
        other = rows["Story number 1"]
        assert (other.external_id, other.link, other.source_count) == ("wire-1", "https://example.com/1", 1)


def test_resubmitting_updates_instead_of_duplicating(admin, db):
    assert admin.post(URL, json=[seed_item(), other_item(1, id="wire-1")], headers=AUTH).json() == {
        "created": 2,
        "updated": 0,
    }
    ids = {title: row.id for title, row in stored(db).items()}

    again = [
        seed_item(key_points=["Only one point now."], source_count=12),
        other_item(1, id="wire-1", title="Story number 1, corrected"),
    ]
    answer = admin.post(URL, json=again, headers=AUTH)
    assert answer.status_code == 201 and answer.json() == {"created": 0, "updated": 2}
    rows = stored(db)
    assert sorted(row.id for row in rows.values()) == sorted(ids.values())
    assert rows[SEED.title].key_points == ["Only one point now."] and rows[SEED.title].source_count == 12
    assert rows["Story number 1, corrected"].id == ids["Story number 1"], "same id: same story, new title"


def test_non_ascii_stories(admin, db):
    item = other_item(1, title="Zürich and Kyiv — Київ", key_points=["東京で首脳会談が開かれた。"])
    assert (
        admin.post(
            URL,
            content=json.dumps(item, ensure_ascii=False).encode("utf-8"),
            headers={**AUTH, "Content-Type": "application/json"},
        ).status_code
        == 201
    )
    assert stored(db)["Zürich and Kyiv — Київ"].key_points == ["東京で首脳会談が開かれた。"]


# --- invalid input stores nothing from that request ---------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, words",
    [
        pytest.param({"key_points": ["x"]}, ("story #3", "title", "Field required"), id="no-title"),
        pytest.param({"title": "T"}, ("story #3", "key_points", "Field required"), id="no-points"),
        pytest.param({"title": "T", "key_points": ["ok", "  "]}, ("story #3", "key_points", "empty"), id="blank-point"),
        pytest.param({"title": "T", "key_points": ["x"], "date": "March 32"}, ("story #3", "date"), id="bad-date"),
        pytest.param(
            {"title": "T", "key_points": ["x"], "sources": [{"url": "https://x"}]},
            ("story #3", "sources.0.publisher"),
            id="source-without-publisher",
        ),
        pytest.param({"title": "T\u0000", "key_points": ["x"]}, ("story #3", "title", "U+0000"), id="nul"),
        pytest.param({"title": "T" * 501, "key_points": ["x"]}, ("story #3", "title", "500"), id="long-title"),
        pytest.param(42, ("story #3", "valid dictionary"), id="not-an-object"),
    ],
)
def test_invalid_item_is_422_naming_item_and_field_and_nothing_is_stored(admin, db, bad, words):
    admin.post(URL, json=seed_item(), headers=AUTH)
    before = {title: list(row.key_points) for title, row in stored(db).items()}

    batch = [other_item(1), seed_item(key_points=["Must not be stored."]), bad]
    assert_json_error(admin.post(URL, json={"stories": batch}, headers=AUTH), 422, "story_format", *words)
    assert {title: list(row.key_points) for title, row in stored(db).items()} == before, (
        "neither the new story nor the update of the existing one went in"
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"title": "T", "key_points": ["x"]', id="truncated"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\xff\xfe not utf", id="not-utf8"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="absurdly-nested"),
    ],
)
def test_broken_json_is_400_and_nothing_is_stored(admin, db, body):
    answer = admin.post(URL, content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert_json_error(answer, 400, "bad_request", "not valid JSON")
    assert stored(db) == {}


# --- body size: big enough for a day of stories, still limited ---------------------------------------------------


def big_batch(min_bytes: int) -> bytes:
    """A valid JSON batch of at least min_bytes."""
    items, size, number = [], 2, 0
    while size < min_bytes:
        number += 1
        item = other_item(number, key_points=[f"Point {k} of story {number}: " + "x" * 980 for k in range(20)])
        items.append(item)
        size += len(json.dumps(item)) + 2
    return json.dumps(items).encode()


def test_two_megabyte_batch_is_accepted(admin, db, settings):
    body = big_batch(2 * 1024 * 1024)
    assert len(body) > 2 * 1024 * 1024 > settings.max_body_bytes
    answer = admin.post(URL, content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert answer.status_code == 201, answer.text[:500]
    count = len(json.loads(body))
    assert answer.json() == {"created": count, "updated": 0}
    assert len(stored(db)) == count


def test_two_megabyte_batch_without_content_length_is_accepted(admin, db):
    body = big_batch(2 * 1024 * 1024)
    chunks = iter([body[i : i + 65536] for i in range(0, len(body), 65536)])
    answer = admin.post(URL, content=chunks, headers={**AUTH, "Content-Type": "application/json"})
    assert answer.status_code == 201, answer.text[:500]
    assert len(stored(db)) == len(json.loads(body))


def test_over_the_admin_limit_is_413_json(admin, db, settings):
    assert settings.max_admin_body_bytes == 5 * 1024 * 1024
    body = big_batch(settings.max_admin_body_bytes + 1)
    answer = admin.post(URL, content=body, headers={**AUTH, "Content-Type": "application/json"})
    assert_json_error(answer, 413, "body_too_large", "too large", "5 MB")
    assert stored(db) == {}


def test_over_the_admin_limit_without_content_length_is_413_json(admin, db, settings):
    body = big_batch(settings.max_admin_body_bytes + 1)
    chunks = iter([body[i : i + 65536] for i in range(0, len(body), 65536)])
    answer = admin.post(URL, content=chunks, headers={**AUTH, "Content-Type": "application/json"})
    assert_json_error(answer, 413, "body_too_large", "5 MB")
    assert stored(db) == {}


def test_admin_limit_is_a_setting(settings, db):
    app = shared_app(
        settings.model_copy(update={"admin_token": TOKEN, "max_admin_body_bytes": 100_000}), notifier=NoMail()
    )
    with TestClient(app) as client:
        small = client.post(URL, content=big_batch(80_000), headers={**AUTH, "Content-Type": "application/json"})
        assert small.status_code == 201, "over the public 64 KB but under this admin limit"
        big = client.post(URL, content=big_batch(100_001), headers={**AUTH, "Content-Type": "application/json"})
        assert_json_error(big, 413, "body_too_large", "100000 bytes")


def test_public_endpoints_keep_the_small_limit(admin, settings):
    body = json.dumps({"email": "big@example.com", "lists": ["world-news"], "name": "x" * 100_000})
    answer = admin.post("/api/subscriptions", content=body, headers={"Content-Type": "application/json"})
    assert_json_error(answer, 413, "body_too_large", "64 KB")
    lookalike = admin.post("/api/administrator", content=body, headers={"Content-Type": "application/json"})
    assert lookalike.status_code == 413, "only the /api/admin/ prefix gets the larger limit"
