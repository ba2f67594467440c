"""Admin story editing: a feed story edited, one a built edition keeps deleted, the list paged, the JSON API."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from service.admin import api_tokens
from service.admin.models import AdminRole
from service.models import Edition, Feed, Item, Story
from service.stories import upsert_stories
from service.stories.items import refresh_story
from tests.support.admin import audit_of, csrf_of, signed_in
from tests.support.admin_content import FEEDS, notice_after, story_titled
from tests.support.edition_stories import long_story
from tests.support.feed_server import Route

pytest_plugins = ["tests.support.admin_content_client", "tests.support.feed_server_fixture"]


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
