"""Multi-source stories from real local feeds: many publishers' items become one story, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from service.core.db import session_factory
from service.editions import build_edition, edition_stories
from service.editions.editing import Editor, pin
from service.lists.rules import create_list
from service.models import Feed, Item, Story
from service.stories.clustering import ItemText
from service.stories.feeds.intake import add_feed, make_client, poll_all
from service.stories.items import clusterer_from
from tests.support.edition_stories import add_story
from tests.support.feed_server import FeedServer, Route

NOW = datetime.now(UTC).replace(microsecond=0)
QUAKE = [
    ("NHK World", "Magnitude 7.1 earthquake strikes off the coast of Japan"),
    ("Reuters", "Japan earthquake: magnitude 7.1 quake strikes off the coast, tsunami warning issued"),
    ("The Japan Times", "Strong magnitude 7.1 earthquake strikes off Japan's coast, tsunami warning lifted"),
]
QUAKE_TEXT = (
    "A magnitude 7.1 earthquake struck off the coast of northern Japan on Tuesday morning. "
    "Authorities issued a tsunami warning for the Pacific coast and later lifted it. "
    "No major damage was reported, according to the national broadcaster. "
    "Bullet train services were suspended for several hours as a precaution. "
    "Continue reading..."
)
SANCTIONS = [
    ("Deutsche Welle", "EU leaders agree on new sanctions package against Russia"),
    ("Euronews", "European Union agrees new sanctions package against Russia"),
]
SANCTIONS_TEXT = (
    "European Union leaders agreed a new package of sanctions against Russia at a summit in Brussels. "
    "The measures target energy exports and financial institutions. "
    "Hungary dropped its objection after talks that lasted into the night. "
    "The post EU agrees sanctions appeared first on Example News."
)


def rss(title: str, items: list[dict], language: str | None = None) -> bytes:
    """A real RSS 2.0 document; each item may carry a <source> (as news aggregators' feeds do)."""
    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
        f"<link>https://feeds.example.org/</link>" + (f"<language>{language}</language>" if language else "")
    ]
    for item in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(item['title'])}</title>" if item.get("title") is not None else "")
        link = item.get("link", "https://example.org/" + str(abs(hash(item.get("title")))))
        parts.append(f"<link>{escape(link)}</link>")
        if item.get("published"):
            parts.append(f"<pubDate>{format_datetime(item['published'], usegmt=True)}</pubDate>")
        elif item.get("raw_date"):
            parts.append(f"<pubDate>{item['raw_date']}</pubDate>")
        if item.get("source"):
            parts.append(
                f'<source url="https://{item["source"].replace(" ", "").lower()}.example/rss">'
                f"{escape(item['source'])}</source>"
            )
        parts.append(f"<description>{escape(item.get('text', ''))}</description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1."""
    running = FeedServer().start()
    yield running
    running.stop()


def poll(session, settings) -> dict:
    """What the beat task does: every feed, one client, the configured clusterer."""
    with make_client(allow_private=True) as client:  # the test server is on 127.0.0.1
        return {
            r.url: r for r in poll_all(session, client=client, clusterer=clusterer_from(settings), allow_private=True)
        }


def aggregator_items(at: datetime) -> list[dict]:
    """An aggregator's feed: three publishers on the quake, two on the sanctions, one unrelated item."""
    items = [
        {
            "title": title,
            "source": publisher,
            "published": at - timedelta(minutes=10 * n),
            "text": QUAKE_TEXT,
            "link": f"https://{publisher.replace(' ', '').lower()}.example/quake",
        }
        for n, (publisher, title) in enumerate(QUAKE)
    ]
    items += [
        {
            "title": title,
            "source": publisher,
            "published": at - timedelta(hours=1, minutes=n),
            "text": SANCTIONS_TEXT,
            "link": f"https://{publisher.replace(' ', '').lower()}.example/sanctions",
        }
        for n, (publisher, title) in enumerate(SANCTIONS)
    ]
    items.append(
        {
            "title": "Museum returns looted bronzes to Benin",
            "source": "BBC News",
            "published": at - timedelta(hours=2),
            "text": "The bronzes were handed over at a ceremony.",
        }
    )
    return items


def stories_by_title(session) -> dict[str, Story]:
    """Every story, fresh from the database."""
    session.expire_all()
    return {story.title: story for story in session.scalars(select(Story))}


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


def test_an_edition_from_a_mixed_day_is_fresh_relevant_and_varied(db, settings, server):
    world = create_list(db, slug="world-news", name="World News daily", categories=["World News"], timezone="UTC")
    items = aggregator_items(NOW)
    items += [
        {
            "title": "Ceasefire talks resume in Geneva",
            "source": "Al Jazeera",
            "published": NOW - timedelta(hours=50),
            "text": "Old news by now.",
        },  # stale: older than 36 h
        {
            "title": "Match Eleitoral já soma mais de 500 mil testes completos",
            "source": "Folha",
            "published": NOW - timedelta(hours=1),
            "text": "A ferramenta ajuda eleitores a escolher.",
        },
        {
            "title": "Heatwave breaks temperature records",
            "source": "Met Desk",
            "raw_date": "not a date",
            "text": "Records fell in twelve cities.",
        },
    ]
    server.routes["/agg.xml"] = Route(body=rss("News Aggregator", items))
    server.routes["/copy.xml"] = Route(
        body=rss(
            "Copy Desk",
            [
                {
                    "title": "Museum returns looted bronzes to Benin",
                    "published": NOW - timedelta(hours=2),
                    "text": "The bronzes were handed over at a ceremony.",
                    "link": "https://copydesk.example/bronzes",
                }
            ],
        )
    )
    for path in ("/agg.xml", "/copy.xml"):
        add_feed(db, url=server.url(path), category="World News", allow_private=True)
    db.commit()
    poll(db, settings)
    add_story(db, "Museum returns looted bronzes to Benin", sources=1, received_at=NOW - timedelta(hours=3))

    edition = build_edition(db, settings=settings, mailing_list=world, day=NOW.date(), now=NOW)

    got = [(story.title, story.source_count) for story in edition_stories(db, edition)]
    titles = [title for title, _ in got]
    assert got[0][1] == 3 and "7.1" in got[0][0], got
    assert got[1][1] == 2 and "anctions" in got[1][0], got
    assert "Ceasefire talks resume in Geneva" not in titles, "older than the maximum age"
    assert not any("Eleitoral" in title for title in titles), "not in the list's language"
    assert titles.count("Museum returns looted bronzes to Benin") == 1, "near-identical headlines go out once"
    assert "Heatwave breaks temperature records" in titles, "an undated item still counts, dated by its feed"
    print("\n[mixed edition]", got)


QUAKE_HALVES = [
    (
        "NHK World",
        "Magnitude 7.1 earthquake strikes off the coast of northern Japan",
        "A magnitude 7.1 earthquake struck off the coast of northern Japan on Tuesday. "
        "A tsunami warning was issued for the Pacific coast.",
    ),
    (
        "Kyodo",
        "Strong earthquake off northern Japan halts bullet trains and cuts power to thousands",
        "Shinkansen services were suspended and 20,000 homes lost power in Miyagi after the magnitude 7.1 tremor.",
    ),
]
QUAKE_BRIDGE = [
    (
        "Reuters",
        "Strong 7.1 quake hits northern Japan, trains halted, tsunami warning issued",
        "A magnitude 7.1 earthquake off northern Japan prompted a tsunami warning, halted bullet trains and cut "
        "power to thousands of homes.",
    ),
    (
        "AP",
        "Japan earthquake: tsunami warning issued, bullet trains stopped after magnitude 7.1 quake",
        "The quake struck off Miyagi on Tuesday; bullet train services were halted and power was cut to 20,000 homes.",
    ),
    (
        "BBC News",
        "Japan hit by magnitude 7.1 earthquake, tsunami alert and train disruption",
        "A strong earthquake off Japan's north-east coast triggered a tsunami warning and stopped Shinkansen trains.",
    ),
]


def publish(db, server, path: str, feed: str, told: list[tuple[str, str, str]], hours_ago: float) -> None:
    """An aggregator's feed (items with their <source>) served at `path`, added as a feed if new."""
    items = [
        {
            "title": title,
            "source": publisher,
            "published": NOW - timedelta(hours=hours_ago, minutes=5 * n),
            "text": text,
            "link": f"https://{publisher.replace(' ', '').lower()}.example/{path.strip('/')}/{n}",
        }
        for n, (publisher, title, text) in enumerate(told)
    ]
    server.routes[path] = Route(body=rss(feed, items, language="en"))
    if db.scalar(select(Feed).where(Feed.url == server.url(path))) is None:
        add_feed(db, url=server.url(path), category="World News", allow_private=True)
        db.commit()


def quake_stories(db) -> list[Story]:
    """The stories about the quake, oldest first."""
    return sorted((s for s in stories_by_title(db).values() if "Japan" in s.title), key=lambda s: s.id)


def two_quake_halves(db, settings, server) -> tuple[int, int]:
    """Two polls, one half of the quake each, too unlike to be one story yet; their story ids, oldest first."""
    publish(db, server, "/nhk.xml", "NHK", QUAKE_HALVES[:1], hours_ago=4)
    poll(db, settings)
    publish(db, server, "/kyodo.xml", "Kyodo", QUAKE_HALVES[1:], hours_ago=3)
    publish(db, server, "/dw.xml", "DW", [(SANCTIONS[0][0], SANCTIONS[0][1], SANCTIONS_TEXT)], hours_ago=3)
    poll(db, settings)
    first, second = quake_stories(db)
    return first.id, second.id


def test_two_halves_of_one_event_from_separate_polls_become_one_story_under_the_older_id(db, settings, server):
    world = create_list(db, slug="world-news", name="World News daily", categories=["World News"], timezone="UTC")
    older, younger = two_quake_halves(db, settings, server)
    draft = build_edition(db, settings=settings, mailing_list=world, day=NOW.date(), now=NOW, freeze=False)
    db.commit()
    pin(db, settings, draft.id, younger, Editor("editor@example.org"))
    db.commit()

    publish(db, server, "/wire.xml", "Wire", QUAKE_BRIDGE, hours_ago=2)
    poll(db, settings)

    [quake] = quake_stories(db)
    assert quake.id == older, "the story readers may have seen first keeps its id"
    assert db.get(Story, younger) is None and len(quake.items) == 5
    assert quake.source_count == 5 and quake.title in [t for _, t, _ in QUAKE_HALVES + QUAKE_BRIDGE]
    assert {point["publisher"] for point in quake.points()} <= {p for p, _, _ in QUAKE_HALVES + QUAKE_BRIDGE}
    assert any("anctions" in title for title in stories_by_title(db)), "the unrelated story stays apart"
    db.refresh(draft)
    assert younger not in draft.story_ids and younger not in draft.pinned and older in draft.pinned
    assert [s.id for s in edition_stories(db, draft)].count(older) == 1


def test_a_story_in_a_sent_edition_is_never_merged_away(db, settings, server):
    world = create_list(db, slug="world-news", name="World News daily", categories=["World News"], timezone="UTC")
    older, younger = two_quake_halves(db, settings, server)
    sent = build_edition(db, settings=settings, mailing_list=world, day=NOW.date(), now=NOW)  # frozen: as sent
    db.commit()
    assert younger in sent.story_ids

    publish(db, server, "/wire.xml", "Wire", QUAKE_BRIDGE, hours_ago=2)
    poll(db, settings)

    stories = quake_stories(db)
    assert [s.id for s in stories] == [older, younger], "both stories keep their ids and their pages"
    assert sum(len(s.items) for s in stories) == 5, "the new items still join a story"
    assert len(db.get(Story, younger).items) >= 1
