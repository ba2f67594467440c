"""Multi-source stories in editions: a mixed day's edition, and stories merged across polls unless already sent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from service.editions import build_edition, edition_stories
from service.editions.editing import Editor, pin
from service.lists.rules import create_list
from service.models import Feed, Story
from service.stories.feeds.intake import add_feed
from tests.support.edition_stories import add_story
from tests.support.feed_server import Route
from tests.support.multi_source_feeds import (
    NOW,
    QUAKE_BRIDGE,
    QUAKE_HALVES,
    SANCTIONS,
    SANCTIONS_TEXT,
    aggregator_items,
    poll,
    rss,
    stories_by_title,
)

pytest_plugins = ["tests.support.feed_server_fixture"]


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
