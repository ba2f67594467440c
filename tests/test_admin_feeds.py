"""Admin feeds: add, poll, edit and delete feeds and see each one's last error, in the UI and the JSON API."""

from __future__ import annotations

import re

from sqlalchemy import select

from service.admin import api_tokens
from service.admin.models import AdminRole
from service.models import Feed
from tests.support.admin import audit_of, csrf_of, signed_in
from tests.support.admin_content import FEEDS, notice_after, story_titled
from tests.support.feed_server import Route

pytest_plugins = ["tests.support.admin_content_client", "tests.support.feed_server_fixture"]


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
