"""Admin stories and feeds: list, edit, delete and import stories; add, edit, delete and poll feeds now; viewers read
the lists only. Through the real app on SQLite and PostgreSQL, with a real local feed server."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.admin import api_tokens
from service.admin.models import AdminRole, AuditEntry
from service.models import Edition, Feed, Item, Story
from service.stories import upsert_stories
from service.stories.items import refresh_story
from tests.support.admin import NoMail, csrf_of, signed_in
from tests.support.apps import shared_app
from tests.support.edition_stories import SEED, long_story
from tests.support.feed_server import FeedServer, Route

FEEDS = Path(__file__).parent / "data" / "feeds"


@pytest.fixture
def web(settings, db):
    """A browser-like client of the real app (stories and feeds send no mail, so no worker)."""
    local_feeds = settings.model_copy(update={"feed_allow_private": True})  # the feed server is on 127.0.0.1
    with TestClient(shared_app(local_feeds, notifier=NoMail()), follow_redirects=False) as client:
        yield client


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 serving feeds."""
    feed_server = FeedServer().start()
    yield feed_server
    feed_server.stop()


def audit_of(db, action: str) -> list[AuditEntry]:
    """The audit entries of one kind, oldest first."""
    db.expire_all()
    entries = list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
    db.commit()
    return entries


def story_titled(db, title: str) -> Story | None:
    """A story as stored now."""
    db.expire_all()
    found = db.scalar(select(Story).where(Story.title == title))
    db.commit()
    return found


def notice_after(web, answer) -> str:
    """Follow a 303 like a browser and return the page with its one-shot notice."""
    assert answer.status_code == 303, answer.text
    return html.unescape(web.get(answer.headers["location"]).text)


# --- stories ------------------------------------------------------------------------------------------------------


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


def test_an_edited_feed_story_keeps_its_own_title_and_key_points(web, db, server):
    server.routes["/world.xml"] = Route(body=(FEEDS / "world_rss.xml").read_bytes())
    signed_in(web, db)
    csrf = csrf_of(web, "/admin/feeds/new")
    web.post("/admin/feeds", data={"csrf_token": csrf, "url": server.url("/world.xml"), "category": "World News"})
    feed_id = db.scalar(select(Feed.id))
    db.commit()
    web.post(f"/admin/feeds/{feed_id}/poll", data={"csrf_token": csrf})
    story = story_titled(db, "Central banks hold rates")
    assert story is not None and not story.hand_written
    form = web.get(f"/admin/stories/{story.id}/edit").text
    assert "Markets barely moved" in form
    answer = web.post(
        f"/admin/stories/{story.id}/edit",
        data={
            "csrf_token": csrf,
            "title": "Rates stay put for another quarter",
            "category": "Business",
            "key_points": "Rates stay at 4%.\n\n  Markets shrugged.  \n",
            "date": "2026-03-10",
        },
    )
    page = notice_after(web, answer)
    assert "Story saved" in page and "Rates stay put for another quarter" in page and "Markets shrugged." in page
    db.expire_all()
    edited = db.get(Story, story.id)
    assert (edited.title, edited.key_points, edited.category, edited.story_date, edited.hand_written) == (
        "Rates stay put for another quarter",
        ["Rates stay at 4%.", "Markets shrugged."],
        "Business",
        date(2026, 3, 10),
        True,
    )
    refresh_story(db, story.id)  # what a new item joining the story does
    db.commit()
    db.expire_all()
    assert db.get(Story, story.id).key_points == ["Rates stay at 4%.", "Markets shrugged."]
    db.commit()
    [entry] = audit_of(db, "story.update")
    assert entry.object_id == str(story.id) and entry.details["changed"] == ["category", "date", "key_points", "title"]
    wrong = web.post(
        f"/admin/stories/{story.id}/edit",
        data={"csrf_token": csrf, "title": "", "category": "Business", "key_points": "", "date": "soon"},
    )
    assert wrong.status_code == 422 and "YYYY-MM-DD" in wrong.text
    empty = web.post(
        f"/admin/stories/{story.id}/edit",
        data={"csrf_token": csrf, "title": "x", "category": "B", "key_points": " \n ", "date": ""},
    )
    assert empty.status_code == 422 and "key_points" in empty.text
    assert story_titled(db, "Rates stay put for another quarter") is not None  # nothing changed


def test_deleting_a_story_in_a_built_edition_says_the_edition_keeps_it(web, db, world_news):
    [row] = [long_story(1)]
    upsert_stories(db, [row])
    story_id = story_titled(db, row.title).id
    now = datetime.now(UTC)
    edition = Edition(
        list_id=world_news.id,
        edition_date=date(2026, 3, 6),
        story_ids=[story_id],
        window_start=now,
        window_end=now,
        subject="World News",
        placeholder_key="k" * 16,
        html=f"<h2>{row.title}</h2>",
        text=row.title,
        send_status="complete",
    )
    db.add(edition)
    db.commit()
    edition_id = edition.id
    signed_in(web, db)
    confirm = web.get(f"/admin/stories/{story_id}/delete")
    assert confirm.status_code == 200
    assert f"#{edition_id} of 2026-03-06" in confirm.text and "stays in its rendered email" in confirm.text
    assert 'data-confirm="Really delete story' in confirm.text
    answer = web.post(f"/admin/stories/{story_id}/delete", data={"csrf_token": csrf_of(web, "/admin/stories")})
    assert "1 built edition keeps it in the rendered email" in notice_after(web, answer)
    assert story_titled(db, row.title) is None
    assert db.scalar(select(func.count()).select_from(Item).where(Item.story_id == story_id)) == 0
    db.expire_all()
    assert row.title in db.get(Edition, edition_id).html
    db.commit()
    [entry] = audit_of(db, "story.delete")
    assert entry.details == {"title": row.title, "kept_by_editions": [edition_id]}
    assert web.get(f"/admin/stories/{story_id}").status_code == 404


def test_the_story_list_pages_freshest_first_and_filters_by_category(web, db):
    base = datetime(2026, 3, 6, 12, tzinfo=UTC)
    upsert_stories(db, [long_story(n, category="Science" if n % 10 == 0 else "World News") for n in range(60)])
    for number, story in enumerate(db.scalars(select(Story).order_by(Story.id))):
        story.newest_item_at = base + timedelta(minutes=number)  # story 59 is the freshest
    db.commit()
    signed_in(web, db)
    first = web.get("/admin/stories").text
    ids = [int(found) for found in re.findall(r'href="/admin/stories/(\d+)"', first)]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    more = re.search(r'href="(/admin/stories\?before=\d+)"', first).group(1)
    second = [int(found) for found in re.findall(r'href="/admin/stories/(\d+)"', web.get(more).text)]
    assert len(second) == 10 and not set(ids) & set(second) and max(second) < min(ids)
    science = web.get("/admin/stories", params={"category": "Science"}).text
    assert len(re.findall(r'href="/admin/stories/(\d+)"', science)) == 6 and "Next page" not in science


def test_the_json_api_edits_and_deletes_a_story(web, db):
    token = api_tokens.create_token(db, name="bot", role=AdminRole.admin, created_by="test").secret
    db.commit()
    auth = {"Authorization": f"Bearer {token}"}
    upsert_stories(db, [long_story(3)])
    story = db.scalar(select(Story))
    db.commit()
    changed = web.patch(
        f"/api/admin/stories/{story.id}",
        headers=auth,
        json={"title": "A shorter headline", "key_points": ["One.", "Two."], "date": None},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["title"], body["key_points"], body["date"], body["hand_written"]) == (
        "A shorter headline",
        [{"text": "One.", "publisher": None, "item_url": None}, {"text": "Two.", "publisher": None, "item_url": None}],
        None,
        True,
    )
    assert body["category"] == "World News"  # left out: unchanged
    assert web.patch(f"/api/admin/stories/{story.id}", headers=auth, json={"key_points": []}).status_code == 422
    assert web.patch("/api/admin/stories/999999", headers=auth, json={"title": "x"}).status_code == 404
    gone = web.delete(f"/api/admin/stories/{story.id}", headers=auth)
    assert gone.status_code == 200 and gone.json() == {
        "id": story.id,
        "title": "A shorter headline",
        "kept_by_editions": [],
    }
    assert web.get(f"/api/admin/stories/{story.id}", headers=auth).status_code == 404
    assert [e.actor for e in audit_of(db, "story.update") + audit_of(db, "story.delete")] == ["token:bot"] * 2


# --- feeds --------------------------------------------------------------------------------------------------------


def test_an_admin_adds_polls_edits_and_deletes_feeds_and_sees_each_ones_last_error(web, db, server):
    server.routes["/world.xml"] = Route(body=(FEEDS / "world_rss.xml").read_bytes())
    signed_in(web, db)
    csrf = csrf_of(web, "/admin/feeds/new")
    bad = web.post("/admin/feeds", data={"csrf_token": csrf, "url": "ftp://nowhere", "category": "World News"})
    assert bad.status_code == 422 and "http:// or https://" in bad.text and 'value="ftp://nowhere"' in bad.text
    for path in ("/world.xml", "/gone.xml"):
        answer = web.post(
            "/admin/feeds",
            data={
                "csrf_token": csrf,
                "url": server.url(path),
                "category": "World News",
                "publisher": "Desk" if path == "/gone.xml" else "",
            },
        )
        assert "added" in notice_after(web, answer)
    good_id, broken_id = db.scalars(select(Feed.id).order_by(Feed.id)).all()
    db.commit()
    listing = web.get("/admin/feeds").text
    assert server.url("/world.xml") in listing and "never" in listing

    broken = notice_after(web, web.post(f"/admin/feeds/{broken_id}/poll", data={"csrf_token": csrf}))
    assert f"Feed {broken_id} failed: HTTP 404 Not Found" in broken
    row = re.search(rf"<tr>(?:(?!</tr>).)*{re.escape(server.url('/gone.xml'))}(?:(?!</tr>).)*</tr>", broken, re.S)
    assert "HTTP 404 Not Found" in row.group(0) and '<td class="num">1</td>' in row.group(0)
    assert "error" in row.group(0)

    good = notice_after(web, web.post(f"/admin/feeds/{good_id}/poll", data={"csrf_token": csrf}))
    assert f"Feed {good_id} polled: 3 new items, 0 seen before." in good
    assert story_titled(db, "Central banks hold rates") is not None
    db.expire_all()
    assert db.get(Feed, good_id).last_status == "ok" and db.get(Feed, broken_id).consecutive_failures == 1
    db.commit()

    server.routes["/gone.xml"] = Route(body=(FEEDS / "atom.xml").read_bytes(), content_type="application/atom+xml")
    assert "Desk" in web.get(f"/admin/feeds/{broken_id}/edit").text
    saved = web.post(
        f"/admin/feeds/{broken_id}/edit",
        data={"csrf_token": csrf, "url": server.url("/gone.xml"), "category": "Weather", "publisher": ""},
    )
    assert "saved" in notice_after(web, saved)
    db.expire_all()
    assert (db.get(Feed, broken_id).category, db.get(Feed, broken_id).publisher) == ("Weather", None)
    db.commit()
    deleted = web.post(f"/admin/feeds/{good_id}/delete", data={"csrf_token": csrf})
    assert "its stories stay" in notice_after(web, deleted)
    assert server.url("/world.xml") not in web.get("/admin/feeds").text
    assert story_titled(db, "Central banks hold rates") is not None
    actions = [e.action for e in audit_of(db, "feed.poll")]
    assert actions == ["feed.poll", "feed.poll"]
    assert [e.details["status"] for e in audit_of(db, "feed.poll")] == ["error", "ok"]
    for action in ("feed.create", "feed.update", "feed.delete"):
        assert {e.actor for e in audit_of(db, action)} == {"ann@example.org"}, action
    assert audit_of(db, "feed.update")[0].details == {
        "category": ["World News", "Weather"],
        "publisher": ["Desk", None],
    }


def test_the_feeds_api_polls_one_feed_and_reports_its_error(web, db, server):
    token = api_tokens.create_token(db, name="ops", role=AdminRole.admin, created_by="test").secret
    db.commit()
    auth = {"Authorization": f"Bearer {token}"}
    server.routes["/slow.xml"] = Route(status=500, body=b"oops", content_type="text/plain")
    made = web.post("/api/admin/feeds", headers=auth, json={"url": server.url("/slow.xml"), "category": "Tech"})
    assert made.status_code == 201 and made.json()["last_status"] == "new"
    feed_id = made.json()["id"]
    polled = web.post(f"/api/admin/feeds/{feed_id}/poll", headers=auth)
    assert polled.status_code == 200
    assert polled.json()["status"] == "error" and "HTTP 500" in polled.json()["feed"]["last_error"]
    listed = web.get("/api/admin/feeds", headers=auth).json()
    assert listed[0]["consecutive_failures"] == 1 and "HTTP 500" in listed[0]["last_error"]
    assert web.post("/api/admin/feeds/424242/poll", headers=auth).status_code == 404
    assert web.delete(f"/api/admin/feeds/{feed_id}", headers=auth).status_code == 200
    assert web.get("/api/admin/feeds", headers=auth).json() == []


# --- viewers ------------------------------------------------------------------------------------------------------


def test_a_viewer_reads_the_story_and_feed_lists_and_may_change_nothing(web, db):
    upsert_stories(db, [long_story(5)])
    story = db.scalar(select(Story))
    feed = Feed(url="https://example.org/feed.xml", category="World News", title="Example")
    db.add(feed)
    db.commit()
    signed_in(web, db, email="vic@example.org", role=AdminRole.viewer)
    for path in ("/admin/stories", f"/admin/stories/{story.id}", "/admin/feeds"):
        answer = web.get(path)
        assert answer.status_code == 200, path
        assert not re.search(
            r'href="[^"]*/(import|edit|delete|new)"|method="post" action="/admin/(stories|feeds)', answer.text
        ), path
    csrf = csrf_of(web, "/admin/stories")
    for path in (
        "/admin/stories/import",
        f"/admin/stories/{story.id}/edit",
        f"/admin/stories/{story.id}/delete",
        "/admin/feeds/new",
        f"/admin/feeds/{feed.id}/edit",
    ):
        assert web.get(path).status_code == 403, path
    for path, data in (
        (f"/admin/stories/{story.id}/edit", {"title": "x", "key_points": "y", "category": "z"}),
        (f"/admin/stories/{story.id}/delete", {}),
        ("/admin/stories/import", {"pasted": "{}"}),
        ("/admin/feeds", {"url": "https://example.org/x.xml", "category": "X"}),
        (f"/admin/feeds/{feed.id}/edit", {"url": feed.url, "category": "X"}),
        (f"/admin/feeds/{feed.id}/poll", {}),
        (f"/admin/feeds/{feed.id}/delete", {}),
    ):
        assert web.post(path, data={"csrf_token": csrf, **data}).status_code == 403, path
    viewer = {"X-CSRF-Token": csrf}
    assert web.get("/api/admin/feeds").status_code == 200
    assert web.patch(f"/api/admin/stories/{story.id}", json={"title": "x"}, headers=viewer).status_code == 403
    assert web.delete(f"/api/admin/feeds/{feed.id}", headers=viewer).status_code == 403
    db.expire_all()
    assert db.get(Story, story.id).title == story.title and db.get(Feed, feed.id).category == "World News"
    db.commit()


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
