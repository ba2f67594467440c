"""Polling feeds into multi-source stories (SQLite and PostgreSQL): publishers joined, bad items refused, no splits."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select

from service.core.db import session_factory
from service.models import Feed, Item
from service.stories.clustering import ItemText
from service.stories.feeds.intake import add_feed
from service.stories.items import clusterer_from
from tests.support.feed_server import Route
from tests.support.multi_source_feeds import (
    NOW,
    QUAKE,
    QUAKE_TEXT,
    aggregator_items,
    poll,
    rss,
    stories_by_title,
)

pytest_plugins = ["tests.support.feed_server_fixture"]


def test_an_aggregator_feed_becomes_one_story_per_event_with_its_publishers(db, settings, server):
    server.routes["/agg.xml"] = Route(body=rss("News Aggregator", aggregator_items(NOW), language="en-GB"))
    add_feed(db, url=server.url("/agg.xml"), category="World News", allow_private=True)
    db.commit()

    result = poll(db, settings)[server.url("/agg.xml")]

    assert (result.status, result.created) == ("ok", 6)
    stories = stories_by_title(db)
    assert len(stories) == 3, list(stories)
    quake = next(s for s in stories.values() if "7.1" in s.title)
    assert quake.title in [title for _, title in QUAKE]
    assert quake.source_count == 3
    assert sorted(s["publisher"] for s in quake.sources) == ["NHK World", "Reuters", "The Japan Times"]
    assert all(s["url"] and s["title"] for s in quake.sources)
    assert 2 <= len(quake.key_points) <= 6  # only sentences close to the story's core (see story_points)
    assert not any("Continue reading" in point for point in quake.key_points)
    assert quake.language == "en" and quake.category == "World News"
    sanctions = next(s for s in stories.values() if "anctions" in s.title)
    assert sanctions.source_count == 2
    assert not any("appeared first on" in point for point in sanctions.key_points)
    assert stories["Museum returns looted bronzes to Benin"].source_count == 1
    expected = clusterer_from(settings).vectors(
        [ItemText(key=0, title=QUAKE[0][1], published=NOW, summary=QUAKE_TEXT, publisher=QUAKE[0][0])]
    )[0]
    stored = db.scalar(select(Item.vector).where(Item.title == QUAKE[0][1]))
    assert stored == expected, "each item keeps the embedding its clusterer would compute, so no poll redoes it"


def test_a_later_poll_adds_new_publishers_to_the_same_story_and_a_repoll_changes_nothing(db, settings, server):
    first = [
        {
            "title": QUAKE[0][1],
            "published": NOW - timedelta(hours=3),
            "text": QUAKE_TEXT,
            "link": "https://nhk.example/quake",
        }
    ]
    server.routes["/nhk.xml"] = Route(body=rss("NHK World", first))
    add_feed(db, url=server.url("/nhk.xml"), category="World News", allow_private=True)
    db.commit()
    poll(db, settings)
    assert [s.source_count for s in stories_by_title(db).values()] == [1]

    later = [
        {
            "title": QUAKE[1][1],
            "published": NOW - timedelta(hours=1),
            "text": QUAKE_TEXT,
            "link": "https://reuters.example/quake",
        }
    ]
    server.routes["/reuters.xml"] = Route(body=rss("Reuters", later))
    add_feed(db, url=server.url("/reuters.xml"), category="World News", allow_private=True)
    db.commit()
    poll(db, settings)
    [story] = stories_by_title(db).values()
    assert story.source_count == 2 and len(story.items) == 2

    before = (story.id, story.title, list(story.key_points), list(story.sources), story.newest_item_at)
    again = poll(db, settings)
    assert {r.created for r in again.values()} == {0} and {r.updated for r in again.values()} == {1}
    [same] = stories_by_title(db).values()
    assert (same.id, same.title, list(same.key_points), list(same.sources), same.newest_item_at) == before
    assert db.scalar(select(func.count()).select_from(Item)) == 2


def test_bad_items_are_refused_one_by_one_and_the_rest_is_taken(db, settings, server):
    items = [
        {"title": None, "published": NOW, "text": "An item with no title at all."},
        {"title": "Epoch default date", "raw_date": "Thu, 01 Jan 1970 00:00:00 GMT", "text": "x"},
        {"title": "From next year", "published": NOW + timedelta(days=400), "text": "x"},
        {"title": "A giant description", "published": NOW, "text": "word " * 220_000},
        {"title": "Bell\x07 in the title", "published": NOW, "text": "x"},
        {
            "title": "Parliament passes the annual budget",
            "published": NOW - timedelta(hours=1),
            "text": "The budget passed by a wide margin.",
        },
    ]
    body = rss("Messy Feed", items).replace(b"Bell\x07", b"Bell&#7;")
    server.routes["/messy.xml"] = Route(body=body)
    add_feed(db, url=server.url("/messy.xml"), category="World News", allow_private=True)
    db.commit()

    result = poll(db, settings)[server.url("/messy.xml")]

    assert result.created == 1 and list(stories_by_title(db)) == ["Parliament passes the annual budget"]
    db.expire_all()
    feed = db.scalar(select(Feed))
    assert feed.last_status == "partial" and feed.consecutive_failures == 0
    assert feed.last_error.startswith("5 of 6 items skipped")
    for words in (
        "item 1: no title",
        "item 2: implausible date 1970-01-01",
        "item 3: implausible date",
        "item 4: description of",
        "item 5: control characters in the title",
    ):
        assert words in feed.last_error, feed.last_error


def test_undated_items_never_look_newer_than_their_feed(db, settings, server):
    items = [
        {"title": "Drought cuts the wheat harvest", "published": NOW - timedelta(hours=30), "text": "x"},
        {"title": "Floods close the northern railway", "published": NOW - timedelta(hours=40), "text": "z"},
        {"title": "Chip makers announce a new factory", "raw_date": "sometime last week", "text": "y"},
    ]
    server.routes["/undated.xml"] = Route(body=rss("Farm Wire", items))
    add_feed(db, url=server.url("/undated.xml"), category="World News", allow_private=True)
    db.commit()
    poll(db, settings)
    db.expire_all()
    undated = db.scalar(select(Item).where(Item.title == "Chip makers announce a new factory"))
    assert undated.dated is False
    assert abs(undated.published_at.replace(tzinfo=UTC) - (NOW - timedelta(hours=30))) < timedelta(seconds=1)


@pytest.mark.parametrize("polls", [2])
def test_two_concurrent_polls_never_split_or_duplicate_a_story(db, settings, server, polls):
    server.routes["/agg.xml"] = Route(body=rss("News Aggregator", aggregator_items(NOW)))
    server.routes["/mirror.xml"] = Route(body=rss("Mirror", aggregator_items(NOW)))
    for path in ("/agg.xml", "/mirror.xml"):
        add_feed(db, url=server.url(path), category="World News", allow_private=True)
    db.commit()
    factory = session_factory(settings.effective_database_url)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with factory() as session:
                poll(session, settings)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(polls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Item)) == 12, "each feed's six items once"
    assert len(stories_by_title(db)) == 3, "the same three events, however the polls interleaved"
    assert all(feed.last_error is None for feed in db.scalars(select(Feed)))
