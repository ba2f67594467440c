"""The 2026-02-18 edition from the 16 labelled real feeds of ../shared/data/feeds-dev, polled over HTTP."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from service.editions import build_edition, edition_stories
from service.lists.rules import create_list
from service.models import as_utc, utcnow
from service.stories.feeds.intake import add_feed, make_client, poll_all
from service.stories.items import clusterer_from
from tests.support.feed_server import FeedServer, Route

pytestmark = pytest.mark.heavy

# Read at test time, never copied: the feeds' texts belong to their publishers.
FEEDS_DEV = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "feeds-dev"
DAY = date(2026, 2, 18)


@pytest.fixture
def dev_feeds():
    """The development feeds served as they were captured, by a real HTTP server on 127.0.0.1."""
    running = FeedServer().start()
    for path in sorted(FEEDS_DEV.glob("*.xml")):
        running.routes[f"/{path.name}"] = Route(body=path.read_bytes())
    yield running
    running.stop()


def events_by_link() -> dict[str, str]:
    """Each labelled item's event, by its link."""
    with (FEEDS_DEV / "events.csv").open(newline="", encoding="utf-8") as handle:
        return {row["link"]: row["event"] for row in csv.DictReader(handle)}


def test_the_edition_of_a_real_day_has_one_event_per_story_ranked_by_publishers(db, settings, dev_feeds):
    english = create_list(
        db, slug="world-news", name="World News daily", categories=["World News"], timezone="UTC", languages=["en"]
    )
    for name in sorted(dev_feeds.routes):
        add_feed(db, url=dev_feeds.url(name), category="World News", allow_private=True)  # served on 127.0.0.1
    db.commit()
    with make_client(allow_private=True) as client:
        results = poll_all(db, client=client, clusterer=clusterer_from(settings), allow_private=True)
    assert {result.status for result in results} <= {"ok", "partial"}, [r.error for r in results if r.error]

    edition = build_edition(db, settings=settings, mailing_list=english, day=DAY, now=utcnow())
    assert edition is not None
    stories = edition_stories(db, edition)
    event_of = events_by_link()
    report = [f"edition {DAY} window {edition.window_start:%Y-%m-%d %H:%M} .. {edition.window_end:%Y-%m-%d %H:%M}"]
    main_events = []
    for story in stories:
        events = Counter(event_of[item.url] for item in story.items)
        publishers = sorted({item.publisher for item in story.items})
        report += [f"- {story.title} [{len(publishers)} publishers: {'; '.join(publishers)}]"]
        report += [f"    * {point['text']} — {point['publisher']}" for point in story.points()]
        if len(publishers) > 1:
            assert len(events) == 1, f"{story.title!r} spans the events {dict(events)}"
        main_events.append(events.most_common(1)[0][0])
        assert story.language == "en"
        assert as_utc(edition.window_start) < as_utc(story.newest_item_at) <= as_utc(edition.window_end), story.title
        assert all(point["publisher"] in publishers for point in story.points()), "each point names its publisher"
        if len(publishers) > 1:  # at most 6 points, and no one publisher gives more than half of them
            assert max(Counter(point["publisher"] for point in story.points()).values(), default=0) <= 3, story.title
    print("\n".join(report))

    assert len(stories) >= 8, report
    assert len(set(main_events)) == len(main_events), "no two stories about one event"
    counts = [story.source_count for story in stories]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 3, "ranked by distinct publishers"
