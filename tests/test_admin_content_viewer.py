"""A viewer reads the admin story and feed lists and may change nothing, in the pages or the API."""

from __future__ import annotations

import re

from sqlalchemy import select

from service.admin.models import AdminRole
from service.models import Feed, Story
from service.stories import upsert_stories
from tests.support.admin import csrf_of, signed_in
from tests.support.edition_stories import long_story

pytest_plugins = ["tests.support.admin_content_client"]


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
