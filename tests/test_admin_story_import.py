"""Admin story import: an uploaded seed file, pasted JSON checked before storing, script links dropped on every path."""

from __future__ import annotations

import html
import json

import pytest

from tests.support.admin import audit_of, csrf_of, signed_in
from tests.support.admin_content import notice_after, story_titled
from tests.support.edition_stories import SEED

pytest_plugins = ["tests.support.admin_content_client"]


def test_an_uploaded_seed_file_is_listed_shown_and_audited(web, db):
    signed_in(web, db)
    csrf = csrf_of(web, "/admin/stories/import")
    answer = web.post(
        "/admin/stories/import",
        data={"csrf_token": csrf},
        files={"file": ("seed.txt", SEED.read_bytes(), "text/plain")},
    )
    assert "Imported 1 stories: 1 new, 0 updated." in notice_after(web, answer)
    title = "India and Japan Strengthen Ties with New Defence Tech and Economic Security Initiatives"
    story = story_titled(db, title)
    assert story is not None and story.source_count == 11 and story.hand_written
    listing = web.get("/admin/stories").text
    assert title in listing and f"/admin/stories/{story.id}" in listing and "World News" in listing
    detail = html.unescape(web.get(f"/admin/stories/{story.id}").text)
    assert story.key_points[0] in detail and "Ministry of Foreign Affairs of Japan" in detail
    assert f"Items ({len(story.sources)})" in detail
    [entry] = audit_of(db, "stories.import")
    assert entry.actor == "ann@example.org" and entry.details == {"created": 1, "updated": 0, "via": "upload seed.txt"}


def test_pasted_json_is_checked_before_anything_is_stored(web, db):
    signed_in(web, db)
    csrf = csrf_of(web, "/admin/stories/import")
    good = {
        "title": "Harbour reopens after the storm",
        "date": "2026-03-06",
        "key_points": ["Ships are moving."],
        "sources": [{"publisher": "Port Daily", "title": "Harbour open"}],
    }
    bad = [good, {"title": "No points at all", "key_points": []}]
    refused = web.post("/admin/stories/import", data={"csrf_token": csrf, "pasted": json.dumps(bad)})
    assert refused.status_code == 422
    assert "story #2: key_points" in refused.text and "No points at all" in html.unescape(refused.text)  # kept typed
    assert story_titled(db, good["title"]) is None
    answer = web.post("/admin/stories/import", data={"csrf_token": csrf, "pasted": json.dumps({"stories": [good]})})
    assert "1 new" in notice_after(web, answer)
    assert story_titled(db, good["title"]).key_points == ["Ships are moving."]
    again = web.post("/admin/stories/import", data={"csrf_token": csrf, "pasted": json.dumps(good)})
    assert "0 new, 1 updated" in notice_after(web, again)
    nothing = web.post("/admin/stories/import", data={"csrf_token": csrf})
    assert nothing.status_code == 422 and "Choose a .txt or .json file" in nothing.text


@pytest.mark.sqlite_twin  # issue 20: storage on both databases
def test_script_links_never_reach_a_story_from_the_api_an_upload_or_a_paste(web, db):
    """javascript:, data: and vbscript: links are dropped at import; the admin's story page links http(s) only."""
    signed_in(web, db)
    csrf = csrf_of(web, "/admin/stories/import")
    evil = ["javascript:alert(document.cookie)", "data:text/html;base64,PHNjcmlwdD4=", "VBScript:msgbox(1)"]

    def with_links(title: str) -> dict:
        return {
            "title": title,
            "key_points": ["A point."],
            "link": evil[0],
            "sources": [
                {"publisher": f"P{n}", "title": f"Article {n}", "url": url}
                for n, url in enumerate([*evil, "https://example.org/fine"])
            ],
        }

    api = web.post("/api/admin/stories", json=with_links("Through the API"), headers={"X-CSRF-Token": csrf})
    assert api.status_code == 201, api.text
    pasted = web.post("/admin/stories/import", data={"csrf_token": csrf, "pasted": json.dumps(with_links("Pasted"))})
    assert "1 new" in notice_after(web, pasted)
    upload = web.post(
        "/admin/stories/import",
        data={"csrf_token": csrf},
        files={"file": ("day.json", json.dumps(with_links("Uploaded")).encode(), "application/json")},
    )
    assert "1 new" in notice_after(web, upload)
    for title in ("Through the API", "Pasted", "Uploaded"):
        story = story_titled(db, title)
        assert story.link is None and [s["url"] for s in story.sources] == [
            None,
            None,
            None,
            "https://example.org/fine",
        ]
        shown = web.get(f"/api/admin/stories/{story.id}").json()
        assert {i["url"] for i in shown["items"]} == {None, "https://example.org/fine"}
        page = web.get(f"/admin/stories/{story.id}").text.lower()
        assert "javascript:" not in page and "vbscript:" not in page and "data:text" not in page
        assert 'href="https://example.org/fine"' in page

    # a story stored before this rule keeps its text, but its page links nothing but http(s)
    old = story_titled(db, "Pasted")
    old.link, old.sources = evil[0], [{"publisher": "Old", "title": "Old article", "url": evil[2]}]
    db.commit()
    page = web.get(f"/admin/stories/{old.id}").text
    assert "Old article" in page and "javascript:" not in page.lower() and "vbscript:" not in page.lower()
