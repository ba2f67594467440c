"""Feeds reach only the public internet (SSRF): refused at add time, on every connection and every redirect hop,
with a last_error that tells viewers little and URL credentials that nobody is shown."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.admin import api_tokens
from service.admin.models import AdminRole
from service.core.config import REPO_ROOT
from service.core.errors import InvalidInput
from service.models import Feed
from service.stories.feeds import intake as feeds
from service.stories.feeds.fetch import NOT_PUBLIC, make_client
from service.stories.items import clusterer_from
from tests.support.admin import NoMail
from tests.support.apps import shared_app
from tests.support.feed_server import FeedServer, Route
from tests.test_feeds import DATA, newsletter

pytestmark = pytest.mark.sqlite_twin  # issue 20: storage on both databases

PRIVATE = [
    "http://127.0.0.1/feed.xml",
    "http://localhost:8080/feed.xml",
    "http://[::1]/feed.xml",
    "http://10.1.2.3/rss",
    "http://192.168.0.1/rss",
    "http://169.254.169.254/latest/meta-data/",
    "http://2130706433/feed.xml",
    "http://224.0.0.1/feed.xml",
    "http://[::ffff:127.0.0.1]/feed.xml",
    "http://0.0.0.0:9000/feed.xml",
    "https://app.localhost/feed.xml",
]


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1."""
    feed_server = FeedServer().start()
    yield feed_server
    feed_server.stop()


@pytest.mark.parametrize("url", PRIVATE)
def test_a_feed_off_the_public_internet_is_refused_when_added(db, url):
    with pytest.raises(InvalidInput, match="not on the public internet"):
        feeds.add_feed(db, url=url, category="World News")
    db.rollback()
    assert db.scalars(select(Feed)).all() == []
    assert feeds.add_feed(db, url=url, category="World News", allow_private=True).url == url, "FEED_ALLOW_PRIVATE"
    db.rollback()


def test_the_api_answers_422_for_a_loopback_feed(settings, db):
    token = api_tokens.create_token(db, name="ops", role=AdminRole.admin, created_by="test").secret
    db.commit()
    with TestClient(shared_app(settings, notifier=NoMail())) as web:
        answer = web.post(
            "/api/admin/feeds",
            headers={"Authorization": f"Bearer {token}"},
            json={"url": "http://127.0.0.1:6379/", "category": "World News"},
        )
    assert answer.status_code == 422 and "not on the public internet" in answer.json()["detail"]


def test_a_stored_loopback_feed_is_refused_at_connect_time_and_says_little(settings, db, server):
    server.routes["/world.xml"] = Route(body=(DATA / "world_rss.xml").read_bytes())
    db.add(Feed(url=server.url("/world.xml"), category="World News", title=""))  # added while it was allowed
    db.commit()
    with make_client() as client:
        [result] = feeds.poll_all(db, clusterer=clusterer_from(settings), client=client)
    db.expire_all()
    row = db.scalar(select(Feed))
    assert row.last_error == f"could not fetch the feed ({NOT_PUBLIC})" == result.error
    assert "127.0.0.1" not in row.last_error and server.requests == [], "nothing was sent to the loopback server"


@pytest.mark.processes  # runs the newsletter CLI as its own process
def test_url_credentials_are_used_but_never_shown(settings, db, server):
    server.routes["/private.xml"] = Route(body=(DATA / "world_rss.xml").read_bytes())
    url = server.url("/private.xml").replace("http://", "http://reader:s3cret-pw@")
    feed = feeds.add_feed(db, url=url, category="World News", allow_private=True)
    db.commit()
    viewer = api_tokens.create_token(db, name="grafana", role=AdminRole.viewer, created_by="test").secret
    db.commit()
    app = shared_app(settings.model_copy(update={"feed_allow_private": True}), notifier=NoMail())
    with TestClient(app) as web:
        auth = {"Authorization": f"Bearer {viewer}"}
        listed = web.get("/api/admin/feeds", headers=auth).json()
        shown = web.get(f"/api/admin/feeds/{feed.id}", headers=auth).json()
    assert listed[0]["url"] == shown["url"] == url.replace("reader:s3cret-pw@", "***@")
    cli = newsletter("feeds", "list")
    assert "s3cret" not in cli.stdout + cli.stderr and "***@" in cli.stdout
    polled = newsletter("feeds", "poll")
    assert polled.returncode == 0 and "s3cret" not in polled.stdout + polled.stderr
    assert server.requests_for("/private.xml")[0].headers["authorization"].startswith("Basic ")


@pytest.mark.processes
def test_redirects_to_loopback_and_dns_rebinding_are_refused_on_a_real_network():
    """In a network namespace where 8.8.8.8 is local, a public feed redirects to loopback and a name rebinds."""
    done = subprocess.run(
        ["unshare", "--net", "--mount", sys.executable, "-m", "tests.support.public_net"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    refused = f"could not fetch the feed ({NOT_PUBLIC})"
    assert results["rebound_at_add_time"] is None, "the name looked public when the feed was added"
    assert results["public"] == "ok", "a public feed is fetched"
    assert [results[path] for path in ("/to-loopback.xml", "/to-localhost.xml", "/to-rebound.xml")] == [refused] * 3
    assert results["rebound"] == refused and results["transport"] == "NotPublic"
    assert results["loopback_requests"] == 0 and results["public_requests"] == 4
