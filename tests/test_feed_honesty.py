"""Honest dates and publisher names of feed items: other languages' dates, the feed's own date, stale feeds,
names readers recognise (the development feeds included), an admin's name that stored items follow, the demo story."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.core.config import REPO_ROOT, get_settings
from service.editions import DEMO_ORIGIN, build_edition
from service.lists.rules import DEMO_LIST, get_list
from service.models import Edition, Feed, Item, Story, as_utc
from service.ops.demo import load_demo
from service.stories.feeds.dates import parse_date
from service.stories.feeds.intake import add_feed, make_client, poll_all
from service.stories.feeds.names import feed_publisher
from service.stories.items import clusterer_from
from tests.support.admin import NoMail, signed_in
from tests.support.apps import shared_app
from tests.support.cli import newsletter_process
from tests.support.feed_server import FeedServer, Route

DEV_FEEDS = REPO_ROOT.parent / "shared" / "data" / "feeds-dev"
ADMIN_TOKEN = "feed-admin-token-0123456789abcdefghijklmnop"


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 serving the feeds a test writes."""
    feed_server = FeedServer().start()
    yield feed_server
    feed_server.stop()


def rss(title: str, link: str, items: list[str], channel_extra: str = "") -> bytes:
    """An RSS 2.0 document with these <item> bodies."""
    body = "".join(f"<item>{item}</item>" for item in items)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>{link}</link>{channel_extra}{body}</channel></rss>"
    ).encode()


def poll(db) -> None:
    """What the beat's task does: every feed once."""
    with make_client(allow_private=True) as client:  # the test server is on 127.0.0.1
        poll_all(db, client=client, clusterer=clusterer_from(get_settings()), allow_private=True)
    db.expire_all()


def items_by_title(db) -> dict[str, Item]:
    """Every stored item by title."""
    return {item.title: item for item in db.scalars(select(Item))}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Seg, 24 Set 2018 10:00:00 -0300", datetime(2018, 9, 24, 13, 0, tzinfo=UTC)),  # pt
        ("mer, 16 nov 2022 10:30:00 +0100", datetime(2022, 11, 16, 9, 30, tzinfo=UTC)),  # it
        ("Mié, 05 Sept 2024 08:00:00 GMT", datetime(2024, 9, 5, 8, 0, tzinfo=UTC)),  # es
        ("lun., 14 févr. 2022 10:00:00 +0100", datetime(2022, 2, 14, 9, 0, tzinfo=UTC)),  # fr
        ("Di, 3 März 2024 08:15:00 CET", datetime(2024, 3, 3, 7, 15, tzinfo=UTC)),  # de
        ("Segunda-feira, 24 de setembro de 2018 às 10:00", datetime(2018, 9, 24, 10, 0, tzinfo=UTC)),
        ("sáb, 01 dez 2018", datetime(2018, 12, 1, tzinfo=UTC)),
        ("Di, 31 Feb 2024 10:00:00 +0100", None),  # no such day
        ("yesterday", None),
    ],
)
def test_dates_with_day_and_month_names_of_other_languages_are_read(text, expected):
    assert parse_date(text) == expected


def test_an_old_feed_brings_nothing_to_todays_edition_and_is_marked_stale(db, server, settings, world_news):
    old = server.url("/velho.xml")
    server.routes["/velho.xml"] = Route(
        body=rss(
            "Jornal Velho - Mundo",
            "https://jornalvelho.example/",
            [
                "<title>Eleição marcada para outubro</title><guid>a</guid>"
                "<pubDate>Seg, 24 Set 2018 10:00:00 -0300</pubDate>",
                "<title>Tribunal publica edital</title><guid>b</guid>",  # undated
            ],
            "<lastBuildDate>Ter, 25 Set 2018 09:00:00 -0300</lastBuildDate><language>en</language>",
        )
    )
    now = datetime.now(UTC)
    fresh = server.url("/fresh.xml")
    server.routes["/fresh.xml"] = Route(
        body=rss(
            "Fresh Daily",
            "https://freshdaily.example/",
            [
                f"<title>Harbour reopens after storm</title><guid>c</guid><pubDate>{format_datetime(now)}</pubDate>",
                "<title>Ferry timetable changes</title><guid>d</guid>",
            ],
            f"<lastBuildDate>{format_datetime(now)}</lastBuildDate><language>en</language>",
        )
    )
    for url in (old, fresh):
        add_feed(db, url=url, category="World News", allow_private=True)
    db.commit()

    poll(db)

    got = items_by_title(db)
    assert as_utc(got["Eleição marcada para outubro"].published_at) == datetime(2018, 9, 24, 13, 0, tzinfo=UTC)
    undated = got["Tribunal publica edital"]
    assert not undated.dated and as_utc(undated.published_at).date() == date(2018, 9, 24), (
        "never later than the feed's newest dated item and its own date"
    )
    assert abs(as_utc(got["Ferry timetable changes"].published_at) - now) < timedelta(minutes=5), "first seen"
    today = datetime.now(ZoneInfo(world_news.timezone)).date()
    edition = build_edition(db, settings=settings, mailing_list=world_news, day=today, freeze=False)
    assert edition is not None, "the fresh feed's stories make an edition"
    titles = set(db.scalars(select(Story.title).where(Story.id.in_(edition.story_ids))))
    assert titles == {"Harbour reopens after storm", "Ferry timetable changes"}, "nothing of the old feed"

    local = {"admin_token": ADMIN_TOKEN, "feed_allow_private": True}  # the feed server is on 127.0.0.1
    app = shared_app(settings.model_copy(update=local), notifier=NoMail())
    with TestClient(app) as web:
        feeds = {
            feed["url"]: feed
            for feed in web.get("/api/admin/feeds", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
        }
        assert feeds[old]["stale"] and feeds[old]["newest_item_at"].startswith("2018-09-24T13:00:00")
        assert not feeds[fresh]["stale"] and feeds[fresh]["publisher_name"] == "Fresh Daily"
        assert feeds[old]["publisher_name"] == "Jornal Velho" and feeds[old]["site_name"] == "Jornal Velho"
        page = signed_in(web, db).get("/admin/feeds").text
    row = page.split(old, 1)[0].rsplit("<tr>", 1)[1] + page.split(old, 1)[1].split("</tr>", 1)[0]
    assert "2018-09-24 13:00" in row and ">stale<" in row
    assert ">stale<" not in page.split(fresh, 1)[1].split("</tr>", 1)[0]


def test_the_demo_story_belongs_to_the_demo_edition_only(db, settings):
    load_demo(db, settings)
    mailing_list = get_list(db, DEMO_LIST["slug"])
    demo = db.scalar(select(Story).where(Story.origin == DEMO_ORIGIN))
    first = db.scalar(select(Edition).where(Edition.list_id == mailing_list.id))
    assert demo is not None and first is not None and first.story_ids == [demo.id]

    later = build_edition(
        db,
        settings=settings,
        mailing_list=mailing_list,
        day=first.edition_date + timedelta(days=1),
        now=datetime.now(UTC) + timedelta(hours=20),
    )
    assert later is None, "nothing else to send: the demo story never leads a later edition"
    load_demo(db, settings)  # a second `make run` the same day: the same demo edition, nothing new
    assert db.scalars(select(Edition.id)).all() == [first.id]


# What readers call each development feed's publisher (read from ../shared/data at test time; nothing copied).
DEV_NAMES = {
    "abc_au_top.xml": "ABC",
    "abcnews_intl.xml": "ABC News",
    "allafrica_latest.xml": "AllAfrica",
    "bostoncom_world.xml": "Boston.com",
    "cbsnews_world.xml": "CBS News",
    "csmonitor_all.xml": "The Christian Science Monitor",
    "dawn_world.xml": "Dawn",
    "elpais_english.xml": "EL PAÍS",
    "foreignpolicy.xml": "Foreign Policy",
    "japantoday_world.xml": "Japan Today",
    "mercopress.xml": "MercoPress",
    "ndtv_world.xml": "NDTV",
    "npr_world.xml": "NPR",
    "theweek.xml": "The Week",
    "time_world.xml": "TIME",
    "washingtonpost_world.xml": "The Washington Post",
}


def test_the_development_feeds_get_the_names_readers_know():
    files = sorted(DEV_FEEDS.glob("*.xml"))
    assert len(files) == 16, f"the development feeds are expected in {DEV_FEEDS}"
    names = {}
    for path in files:
        parsed = feedparser.parse(path.read_bytes())
        names[path.name] = feed_publisher(
            parsed.feed, "https://feeds.invalid/feed.xml", [entry.get("title", "") for entry in parsed.entries]
        )
    assert names == DEV_NAMES


@pytest.mark.parametrize(
    "title, link, expected",
    [
        ("NYT > World News", "https://www.nytimes.com/section/world", "NYT"),
        ("Al Jazeera – Breaking News, World News and Video from Al Jazeera", "https://www.aljazeera.com", "Al Jazeera"),
        ("G1 > Mundo", "https://g1.globo.com/mundo/", "G1"),
        ("Top Stories", "https://www.abc.net.au/news", "ABC"),
        ("World", "https://www.washingtonpost.com/world", "washingtonpost.com"),
    ],
)
def test_section_suffixes_and_taglines_are_not_part_of_a_name(title, link, expected):
    assert feed_publisher({"title": title, "link": link}, link) == expected


def newsletter(*args: str) -> subprocess.CompletedProcess:
    """Run the `newsletter` command as an admin would, against the test database."""
    return newsletter_process(
        *args,
        env={**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "FEED_ALLOW_PRIVATE": "true"},
        stdin=None,
        timeout=120,
    )


@pytest.mark.processes
def test_an_admins_publisher_name_is_what_stored_items_and_stories_show(db, server, settings):
    now = format_datetime(datetime.now(UTC))
    url = server.url("/planet.xml")
    server.routes["/planet.xml"] = Route(
        body=rss(
            "Mayor opens the new library",
            "https://www.dailyplanet.example/",
            [
                f"<title>Mayor opens the new library</title><guid>1</guid><pubDate>{now}</pubDate>",
                f"<title>Rail strike called off</title><guid>2</guid><pubDate>{now}</pubDate>"
                '<source url="https://wire.example/rss">Wire Service - World News</source>',
            ],
        )
    )
    feed_id = add_feed(db, url=url, category="World News", allow_private=True).id
    db.commit()
    poll(db)

    got = items_by_title(db)
    assert got["Mayor opens the new library"].publisher == "dailyplanet.example", "titled after its own article"
    assert got["Rail strike called off"].publisher == "Wire Service", "<source>, its section suffix removed"

    local = {"admin_token": ADMIN_TOKEN, "feed_allow_private": True}  # the feed server is on 127.0.0.1
    app = shared_app(settings.model_copy(update=local), notifier=NoMail())
    with TestClient(app) as web:
        answer = web.put(
            f"/api/admin/feeds/{feed_id}",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            json={"url": url, "category": "World News", "publisher": "The Daily Planet"},
        )
    assert answer.status_code == 200 and answer.json()["publisher_name"] == "The Daily Planet"
    db.expire_all()
    got = items_by_title(db)
    assert got["Mayor opens the new library"].publisher == "The Daily Planet"
    assert got["Mayor opens the new library"].story.sources[0]["publisher"] == "The Daily Planet"
    assert got["Rail strike called off"].publisher == "Wire Service", "an item's own <source> stays"

    back = newsletter("feeds", "edit", str(feed_id), "--publisher", "")
    assert back.returncode == 0 and "dailyplanet.example (the feed’s own)" in back.stdout, back.stderr
    db.expire_all()
    assert items_by_title(db)["Mayor opens the new library"].story.sources[0]["publisher"] == "dailyplanet.example"
    listed = newsletter("feeds", "list").stdout
    assert "dailyplanet.example" in listed and "stale" not in listed
    assert db.get(Feed, feed_id).publisher is None
