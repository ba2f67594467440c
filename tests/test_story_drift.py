"""A stored story that drifted (items of two events chained into it) is split when a poll shows it, never once sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from service.editions import build_edition
from service.lists.rules import create_list
from service.models import Item, Story
from service.stories.items import ItemInput, clusterer_from, ingest_items, refresh_story
from tests.support.multi_source_feeds import QUAKE_BRIDGE, QUAKE_HALVES

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
QUAKE, QUAKE_LATER = QUAKE_BRIDGE[:2], [QUAKE_HALVES[1], QUAKE_BRIDGE[2]]  # one quake, told by four publishers

RATES = (
    "Finance Daily",
    "Bank of Canada raises its key interest rate to 3.5% to cool inflation",
    "The central bank lifted its benchmark rate by a quarter point, citing stubborn price rises in services.",
)
RATES_LATER = [
    (
        "Globe Business",
        "Bank of Canada lifts interest rate to 3.5% as inflation stays stubborn",
        "Canada's central bank raised its key rate a quarter point to 3.5%, pointing to persistent services inflation.",
    ),
    (
        "CBC",
        "Bank of Canada hikes key interest rate by a quarter point to 3.5%",
        "The Bank of Canada raised its benchmark interest rate to 3.5%, saying inflation in services remains too high.",
    ),
]


def inputs(told: list[tuple[str, str, str]], hours_ago: float) -> list[ItemInput]:
    """Feed items as a poll hands them to the stories: one publisher, headline and description each."""
    return [
        ItemInput(
            publisher=publisher,
            title=title,
            summary=text,
            category="World News",
            published=NOW - timedelta(hours=hours_ago, minutes=5 * n),
            url=f"https://{publisher.replace(' ', '').lower()}.example/{n}",
            language="en",
            identity=f"{publisher}|{title}",
        )
        for n, (publisher, title, text) in enumerate(told)
    ]


def drifted_story(db, settings) -> int:
    """A quake story that an earlier clusterer chained an unrelated rate decision into (as the old method did)."""
    ingest_items(db, inputs([*QUAKE, RATES], hours_ago=4), clusterer=clusterer_from(settings), now=NOW)
    rates, quake = story_of(db, RATES[1]), story_of(db, QUAKE[0][1])
    assert rates != quake, "today's clusterer keeps them apart; the test chains them as an old one did"
    db.execute(update(Item).where(Item.story_id == rates).values(story_id=quake))
    db.execute(delete(Story).where(Story.id == rates))
    db.expire_all()
    refresh_story(db, quake)
    db.commit()
    return quake


def publishers(db, story_id: int) -> set[str]:
    """Who tells the story now."""
    db.expire_all()
    story = db.get(Story, story_id)
    return {item.publisher for item in story.items}


def story_of(db, title: str) -> int:
    """The story an item is in."""
    return db.scalar(select(Item.story_id).where(Item.title == title))


def test_a_drifted_story_is_split_when_a_poll_shows_its_items_tell_two_events(db, settings):
    quake = drifted_story(db, settings)
    assert publishers(db, quake) == {"Reuters", "AP", "Finance Daily"}

    ingest_items(db, inputs(QUAKE_LATER + RATES_LATER, hours_ago=2), clusterer=clusterer_from(settings), now=NOW)
    db.commit()

    assert publishers(db, quake) == {"Reuters", "AP", "Kyodo", "BBC News"}, "the quake story keeps its id and its core"
    rates = story_of(db, RATES[1])
    assert rates != quake and publishers(db, rates) == {"Finance Daily", "Globe Business", "CBC"}
    story = db.get(Story, quake)
    assert story.source_count == 4 and "Bank of Canada" not in story.title
    assert all(point["publisher"] in {"Reuters", "AP", "Kyodo", "BBC News"} for point in story.points())
    assert "Bank of Canada" in db.get(Story, rates).title


def test_a_story_in_a_sent_edition_keeps_its_items(db, settings):
    world = create_list(db, slug="world-news", name="World News daily", categories=["World News"], timezone="UTC")
    quake = drifted_story(db, settings)
    sent = build_edition(db, settings=settings, mailing_list=world, day=NOW.date(), now=NOW)  # frozen: as sent
    db.commit()
    assert quake in sent.story_ids

    stored = set(db.scalars(select(Item.id)))
    held = set(db.scalars(select(Item.id).where(Item.story_id == quake)))

    ingest_items(db, inputs(QUAKE_LATER + RATES_LATER, hours_ago=2), clusterer=clusterer_from(settings), now=NOW)
    db.commit()

    now_held = set(db.scalars(select(Item.id).where(Item.story_id == quake)))
    assert now_held & stored == held, "what readers were sent stays on its page: no stored item leaves or comes"
    assert {"Reuters", "AP", "Finance Daily"} <= publishers(db, quake)
    assert story_of(db, RATES_LATER[0][1]) != quake, "the new rate items still make their own story"


def test_a_draft_naming_a_story_that_lost_a_stray_goes_up_a_version(db, settings):
    world = create_list(db, slug="world-news", name="World News daily", categories=["World News"], timezone="UTC")
    quake = drifted_story(db, settings)
    draft = build_edition(db, settings=settings, mailing_list=world, day=NOW.date(), now=NOW, freeze=False)
    db.commit()
    assert quake in draft.story_ids
    read = draft.version

    ingest_items(db, inputs(QUAKE_LATER + RATES_LATER, hours_ago=2), clusterer=clusterer_from(settings), now=NOW)
    db.commit()

    db.refresh(draft)
    assert story_of(db, RATES[1]) != quake and draft.version > read, "an editor's page read before the split is stale"
