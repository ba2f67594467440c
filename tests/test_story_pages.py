"""A story's public page (what "Read more" opens) and the admin API's read side, on both databases."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import escape
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from service.editions import build_edition
from service.lists.rules import create_list
from service.models import Item, Story
from tests.support.edition_stories import HEADLINES, add_story

T0 = datetime(2026, 3, 6, 7, 0, tzinfo=UTC)
ADMIN_TOKEN = "story-admin-token-0123456789abcdefghijklmnop"
HOSTILE_TITLE = "Markets & {{ 7*7 }} <script>alert(1)</script>"
# (publisher, title, url, minutes after T0-3h): Reuters twice, one item without a URL
ITEMS = [
    ("Reuters", "Japan and India sign defence technology pact", "https://reuters.example/pact", 0),
    ("Associated Press", "India, Japan deepen ties on economic security", "https://apnews.example/ties", 30),
    ("Reuters", "Analysis: what the pact means for chip supply", "https://reuters.example/analysis", 90),
    ("BBC News", "Tokyo and Delhi agree battery supply chain plan", None, 150),
]


class NoMail:
    """Story pages send nothing; any attempt fails the test."""

    def subscribe_request(self, request):
        raise AssertionError("story pages must not send mail")

    confirmation = welcome = subscribe_request


def multi_source_story(db, title: str = "India and Japan strengthen ties", category: str = "World News") -> Story:
    """A story grouped from four items by three publishers, the way feeds make them."""
    story = Story(
        dedup_key=f"test:{title}:{category}",
        title=title,
        story_date=date(2026, 3, 6),
        category=category,
        key_points=[f"Point {n} of {title}." for n in range(1, 5)],
        source_count=3,
        origin="feed",
        point_sources=[{"publisher": ITEMS[n][0], "item_url": ITEMS[n][2]} for n in range(4)],
        sources=[{"publisher": p, "title": t, "url": u} for p, t, u, _ in (ITEMS[0], ITEMS[1], ITEMS[3])],
        language="en",
        newest_item_at=T0 - timedelta(minutes=30),
        received_at=T0 - timedelta(hours=3),
    )
    db.add(story)
    db.flush()
    for number, (publisher, headline, url, minutes) in enumerate(ITEMS):
        add_item(db, story, publisher, headline, url, T0 - timedelta(hours=3) + timedelta(minutes=minutes), number)
    db.commit()
    return story


def add_item(db, story: Story, publisher: str, headline: str, url: str | None, published: datetime, number: int):
    """One publisher's article in the story."""
    db.add(
        Item(
            dedup_key=f"{story.dedup_key}#{number}",
            story_id=story.id,
            publisher=publisher,
            title=headline,
            url=url,
            language="en",
            category=story.category,
            published_at=published,
            first_seen_at=published,
        )
    )


@pytest.fixture
def web(settings, db):
    """The real app, with an admin token, and no worker: these pages only read."""
    from tests.support.apps import shared_app

    app = shared_app(settings.model_copy(update={"admin_token": ADMIN_TOKEN}), notifier=NoMail())
    with TestClient(app) as client:
        yield client


def call_to_action(page_text: str) -> str:
    """The href of the 'Get a daily email' link."""
    found = re.search(r'<a href="([^"]*)"[^>]*>Get a daily email with more ([^<]*) stories</a>', page_text)
    assert found, "the page invites the reader to subscribe"
    return found.group(1)


def test_the_story_page_shows_points_sources_and_every_item(web, db, world_news):
    story = multi_source_story(db)
    page = web.get(f"/stories/{story.id}")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "<h1>India and Japan strengthen ties</h1>" in text and "6 March 2026" in text
    assert all(f'<li style="margin:0 0 10px">{p["text"]} — {p["publisher"]}</li>' in text for p in story.points())
    assert "Summary of 4 articles from 3 publishers" in text, "one honest count: articles and publishers"
    assert "Get a daily email with more World News stories" in text
    assert text.index("Summary of 4 articles") < text.index("Get a daily email") < text.index(">Coverage<")
    coverage = text.split(">Coverage<", 1)[1]
    assert "4 articles from 3 publishers, grouped by publisher" in coverage
    groups = re.findall(r'<section aria-label="([^"]+)">(.*?)</section>', coverage, re.S)
    assert [name for name, _ in groups] == ["Reuters", "Associated Press", "BBC News"], "the lead's publisher first"
    reuters = dict(groups)["Reuters"]
    assert re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', reuters) == [
        ("https://reuters.example/analysis", "Analysis: what the pact means for chip supply"),
        ("https://reuters.example/pact", "Japan and India sign defence technology pact"),
    ], "newest first, linked"
    assert "(2)" in reuters and "6 March 2026, 05:30 UTC" in reuters and "6 March 2026, 04:00 UTC" in reuters
    assert "Tokyo and Delhi agree battery supply chain plan" in dict(groups)["BBC News"], "unlinked, shown"
    assert "6 March 2026, 06:30 UTC" in coverage


def test_one_article_from_one_publisher_is_counted_in_the_singular(web, db, world_news):
    story = Story(
        dedup_key="test:single",
        title="A lone report",
        category="World News",
        key_points=["One."],
        source_count=1,
        origin="feed",
        sources=[{"publisher": "Dawn", "title": "A lone report", "url": None}],
        language="en",
        newest_item_at=T0,
        received_at=T0,
    )
    db.add(story)
    db.flush()
    add_item(db, story, "Dawn", "A lone report", None, T0, 0)
    db.commit()

    text = web.get(f"/stories/{story.id}").text

    assert "Summary of 1 article from 1 publisher<" in text and "1 article from 1 publisher, grouped" in text


def test_a_hand_written_story_says_its_count_and_what_it_lists(web, db, world_news):
    from service.stories.formats import StoryInput
    from service.stories.store import upsert_story

    story, _ = upsert_story(
        db,
        StoryInput(
            title="An editor's summary",
            category="World News",
            key_points=["A."],
            source_count=11,
            sources=[
                {"publisher": "Ministry", "title": "Statement one", "url": None},
                {"publisher": "Ministry", "title": "Statement two", "url": None},
            ],
        ),
    )
    db.commit()

    text = web.get(f"/stories/{story.id}").text

    assert "Summary based on 11 sources; 2 articles from 1 publisher listed below" in text


def test_items_that_arrive_after_the_edition_are_on_the_page(web, db, settings, world_news):
    story = multi_source_story(db)
    build_edition(db, settings=settings, mailing_list=world_news, day=date(2026, 3, 6), now=T0)
    add_item(
        db,
        story,
        "Deutsche Welle",
        "Follow-up: parliament debates the pact",
        "https://dw.example/follow",
        T0 + timedelta(hours=5),
        99,
    )
    db.commit()

    coverage = web.get(f"/stories/{story.id}").text.split(">Coverage<", 1)[1]

    assert "5 articles from 4 publishers" in coverage
    later = re.search(r'<section aria-label="Deutsche Welle">(.*?)</section>', coverage, re.S)
    assert later and "Follow-up: parliament debates the pact" in later.group(1)
    assert "6 March 2026, 12:00 UTC" in later.group(1)


def test_the_call_to_action_names_a_list_carrying_the_category(web, db, world_news):
    create_list(db, slug="science", name="Science daily", categories=["Science", "Space"])
    world = multi_source_story(db)
    space = multi_source_story(db, "A probe lands on the Moon", category="Space")
    orphan = multi_source_story(db, "A new cheese is named", category="Food")

    assert call_to_action(web.get(f"/stories/{world.id}").text) == "/subscribe?list=world-news"
    assert call_to_action(web.get(f"/stories/{space.id}").text) == "/subscribe?list=science"
    assert call_to_action(web.get(f"/stories/{orphan.id}").text) == "/subscribe", "no list carries Food"
    assert "Get a daily email with more Food stories" in web.get(f"/stories/{orphan.id}").text
    create_list(db, slug="everything", name="Everything daily")  # no categories: it carries all of them
    assert call_to_action(web.get(f"/stories/{orphan.id}").text) == "/subscribe?list=everything"
    assert call_to_action(web.get(f"/stories/{space.id}").text) == "/subscribe?list=science", "named lists first"


def test_story_text_is_data_on_the_page(web, db, world_news):
    story = add_story(
        db,
        HOSTILE_TITLE,
        key_points=["<b>not bold</b> & {{ 7*7 }}"],
        source_list=[{"publisher": "<i>Pub</i>", "title": "t", "url": "javascript:alert(1)"}],
    )
    text = web.get(f"/stories/{story.id}").text

    assert escape(HOSTILE_TITLE, quote=False) in text and "<script>alert" not in text
    assert "&lt;b&gt;not bold&lt;/b&gt; &amp; {{ 7*7 }}" in text and "&lt;i&gt;Pub&lt;/i&gt;" in text
    assert "javascript:" not in text, "only http(s) links are linked"


@pytest.mark.parametrize(
    "path",
    [
        "/stories/999999",
        "/stories/abc",
        "/stories/-1",
        "/stories/0",
        "/stories/1.5",
        "/stories/2147483648",
        "/stories/99999999999999999999999999",
        "/stories/%E2%91%A0",
    ],
)
def test_unknown_or_malformed_ids_are_our_404_page(web, db, world_news, path):
    multi_source_story(db)
    page = web.get(path)

    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text and "There is no story" in page.text


def test_every_read_more_link_in_the_edition_opens_its_story(web, db, settings, world_news):
    stories = [multi_source_story(db, title) for title in HEADLINES[1:4]]  # distinct: near-duplicates never pair
    edition = build_edition(db, settings=settings, mailing_list=world_news, day=date(2026, 3, 6), now=T0)
    links = re.findall(r'<a href="([^"]+)"[^>]*>Read more</a>', edition.html)

    assert sorted(links) == sorted(f"{settings.base_url}/stories/{story.id}" for story in stories)
    for link in links:
        page = web.get(urlsplit(link).path)
        assert page.status_code == 200 and "Summary of 4 articles from 3 publishers" in page.text
    assert f"Read more: {settings.base_url}/stories/{stories[0].id}" in edition.text


def admin(web, path: str, token: str | None = ADMIN_TOKEN):
    """GET an admin path with (or without) the bearer token."""
    return web.get(path, headers={"Authorization": f"Bearer {token}"} if token else {})


def test_admin_api_lists_and_shows_stories_with_sources_and_items(web, db, world_news):
    older = add_story(db, "Older story", received_at=T0 - timedelta(days=1))
    story = multi_source_story(db)

    listed = admin(web, "/api/admin/stories?limit=1000")
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()] == [story.id, older.id], "freshest first"
    first = listed.json()[0]
    assert first["source_count"] == 3 and [s["publisher"] for s in first["sources"]] == [
        "Reuters",
        "Associated Press",
        "BBC News",
    ]
    assert [(i["publisher"], i["title"], i["url"]) for i in first["items"]] == [(p, t, u) for p, t, u, _ in ITEMS]
    assert first["items"][0]["published"].startswith("2026-03-06T04:00:00")
    assert [row["id"] for row in admin(web, "/api/admin/stories?limit=1").json()] == [story.id]
    assert len(admin(web, "/api/admin/stories?limit=0").json()) == 2, "0 means all"

    shown = admin(web, f"/api/admin/stories/{story.id}")
    assert shown.status_code == 200 and shown.json() == first

    missing = admin(web, "/api/admin/stories/987654")
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found" and "987654" in missing.json()["detail"]
    assert admin(web, "/api/admin/stories/2147483648").status_code == 404, "past 32 bits: no story, not a crash"


@pytest.mark.parametrize("path", ["/api/admin/stories", "/api/admin/stories/1"])
def test_admin_reads_need_the_token(web, db, world_news, path):
    for token in (None, "wrong-token"):
        answer = admin(web, path, token)
        assert answer.status_code == 401 and answer.json()["error"] == "not_authorised"


def test_the_admin_reads_are_documented(web):
    paths = web.get("/api/openapi.json").json()["paths"]

    listing, one = paths["/api/admin/stories"]["get"], paths["/api/admin/stories/{story_id}"]["get"]
    assert listing["security"] == [{"AdminToken": []}] and one["security"] == [{"AdminToken": []}]
    assert {"200", "401", "422", "429"} <= set(listing["responses"])
    assert {"200", "401", "404", "422", "429"} <= set(one["responses"])
    assert "404" in paths["/stories/{story_id}"]["get"]["responses"]


VIEWPORTS = {"story-page": {"width": 1280, "height": 900}, "story-page-mobile": {"width": 375, "height": 812}}


@pytest.mark.browser
@pytest.mark.parametrize("name", list(VIEWPORTS))
def test_the_story_page_in_chromium(settings, db, world_news, output_dir, name):
    from playwright.sync_api import expect

    from service.web.app import create_app
    from tests.support.browser import chromium
    from tests.support.live_server import live_server

    story = multi_source_story(db)
    viewport = VIEWPORTS[name]
    foreign: list[str] = []
    problems: list[str] = []
    with live_server(create_app(settings, notifier=NoMail())) as server, chromium() as browser:
        context = browser.new_context(viewport=viewport, locale="en-GB", is_mobile=viewport["width"] < 400)
        context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(server.origin)
                else (foreign.append(route.request.url), route.abort())
            ),
        )
        page = context.new_page()
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.goto(server.url(f"/stories/{story.id}"))

        expect(page.get_by_role("heading", level=1)).to_have_text("India and Japan strengthen ties")
        expect(page.get_by_text("Summary of 4 articles from 3 publishers")).to_be_visible()
        expect(page.get_by_role("heading", name="Reuters (2)")).to_be_visible()
        expect(page.get_by_role("link", name="Analysis: what the pact means for chip supply")).to_be_visible()
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"the page is wider than the viewport: {widths}"
        page.screenshot(path=str(output_dir / f"{name}.png"), full_page=True)

        page.get_by_role("link", name="Get a daily email with more World News stories").click()
        page.wait_for_url("**/subscribe?list=world-news")
        # one open list: the form subscribes to it without a checkbox, and says which list it is
        expect(page.get_by_role("heading", level=1)).to_contain_text("World News daily")
        expect(page.locator('input[name="list"]')).to_have_value("world-news")
        expect(page.get_by_label("Email address")).to_be_visible()
        context.close()
    assert foreign == [] and problems == [], (foreign, problems)
