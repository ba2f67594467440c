"""Stories for edition, rendering, archive and delivery tests: seed-sized, with chosen arrival times and sources."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from service.core.config import REPO_ROOT
from service.editions import build_edition
from service.models import Story, utcnow
from service.stories import StoryInput, parse_seed_text, upsert_story

SEED = REPO_ROOT / "demo" / "stories" / "000_17749a4977b85c87.txt"
PUBLISHERS = [
    "Reuters",
    "Associated Press",
    "The Japan Times",
    "The Hindu",
    "Nikkei Asia",
    "BBC News",
    "Al Jazeera",
    "Deutsche Welle",
    "NHK World",
    "The Straits Times",
    "Ministry of Foreign Affairs of Japan",
]
HEADLINES = [
    "India and Japan strengthen ties with new defence tech initiatives",
    "Floods close the northern railway",
    "Central bank holds interest rates steady",
    "Parliament passes the annual budget",
    "Wildfires force thousands to evacuate",
    "Ceasefire talks resume in Geneva",
    "Chip makers announce a new factory",
    "Election results certified after recount",
    "Drought cuts the wheat harvest",
    "Space agency launches a lunar probe",
    "Strike halts the country's ports",
    "Vaccine rollout reaches rural districts",
    "Museum returns looted bronzes",
    "Heatwave breaks temperature records",
]
HOSTILE_TITLE = "Markets & {{ 7*7 }} <script>alert(1)</script> %%deadbeef:unsubscribe_url%%"


def seed_story() -> StoryInput:
    """The product's own example story, parsed from its seed file."""
    return parse_seed_text(SEED.read_text(encoding="utf-8"), str(SEED))


def long_story(number: int, **changes) -> StoryInput:
    """A seed-sized story (12 key points, 11 named sources with article titles and URLs), distinct per number."""
    base = seed_story()
    sources = [
        {
            "publisher": publisher,
            "title": f"{base.title}: what the talks mean for the region, report {number}.{index}",
            "url": f"https://news{index}.example.com/world/{number}/india-japan-ties-{index}",
        }
        for index, publisher in enumerate(PUBLISHERS)
    ]
    story = replace(
        base,
        title=f"{HEADLINES[number % len(HEADLINES)]} (story {number})",
        key_points=[f"{point} [{number}.{index}]" for index, point in enumerate(base.key_points)],
        source_count=11,
        sources=sources,
        origin_ref=f"test-{number}",
    )
    return replace(story, **changes)


def add_story(
    session,
    title: str,
    *,
    received_at: datetime | None = None,
    sources: int = 3,
    category: str = "World News",
    story_date: date | None = date(2026, 3, 6),
    key_points: list[str] | None = None,
    source_list: list[dict] | None = None,
    link: str | None = None,
) -> Story:
    """Store one story and, when given, pretend it arrived at `received_at`."""
    story = StoryInput(
        title=title,
        category=category,
        key_points=key_points or [f"What happened in {title}."],
        source_count=sources,
        story_date=story_date,
        link=link,
        sources=source_list
        if source_list is not None
        else [
            {"publisher": PUBLISHERS[i % len(PUBLISHERS)], "title": f"{title}, article {i}", "url": None}
            for i in range(min(sources, 3))
        ],
    )
    return store(session, story, received_at)


def store(session, story: StoryInput, received_at: datetime | None = None) -> Story:
    """upsert_story, with the arrival time set when given, committed."""
    row, _ = upsert_story(session, story)
    if received_at is not None:
        row.received_at = row.newest_item_at = received_at
    session.commit()
    return row


def day_of_stories(session, count: int = 10, hostile: bool = True) -> list[Story]:
    """`count` seed-sized stories received just now (an edition of about 45 KB HTML); the first may be hostile."""
    base = seed_story()
    stored = []
    for number in range(count):
        headline = HEADLINES[number % len(HEADLINES)]
        title = HOSTILE_TITLE if hostile and number == 0 else f"{headline} (part {number + 1})"
        story = replace(
            base,
            title=title,
            key_points=[f"{p} ({number})" for p in base.key_points],
            source_count=base.source_count + number,
            origin_ref=f"test-{number}",
        )
        stored.append(upsert_story(session, story)[0])
    session.commit()
    return stored


def built_edition(session, settings, mailing_list, day: date | None = None, stories: int = 10):
    """A day of stories and the frozen edition built from them (tomorrow's, unless a day is given)."""
    day_of_stories(session, stories)
    day = day or (utcnow() + timedelta(days=1)).date()
    return build_edition(session, settings=settings, mailing_list=mailing_list, day=day)
