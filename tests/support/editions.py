"""Stories and editions for delivery tests: a realistic day, built and frozen like production does."""
from __future__ import annotations

from datetime import date, timedelta

from service.config import REPO_ROOT
from service.editions import build_edition
from service.models import Story, utcnow
from service.stories import StoryInput, parse_seed_text, upsert_story

SEED = REPO_ROOT / "demo" / "stories" / "000_17749a4977b85c87.txt"
HOSTILE_TITLE = "Markets & {{ 7*7 }} <script>alert(1)</script> %%deadbeef:unsubscribe_url%%"


def seed_story() -> StoryInput:
    """The product's own example story."""
    return parse_seed_text(SEED.read_text(encoding="utf-8"), str(SEED))


def day_of_stories(session, count: int = 10, hostile: bool = True) -> list[Story]:
    """`count` seed-sized stories received just now; the first has hostile text in it."""
    base = seed_story()
    stored = []
    for number in range(count):
        title = HOSTILE_TITLE if hostile and number == 0 else f"{base.title} (part {number + 1})"
        story = StoryInput(title=title, category=base.category, key_points=[f"{p} ({number})" for p in base.key_points],
                           source_count=base.source_count + number, sources=base.sources,
                           story_date=base.story_date, origin="file", origin_ref=f"test-{number}")
        stored.append(upsert_story(session, story)[0])
    session.commit()
    return stored


def built_edition(session, settings, mailing_list, day: date | None = None, stories: int = 10):
    """Stories for the day plus the frozen edition built from them."""
    day_of_stories(session, stories)
    day = day or (utcnow() + timedelta(days=1)).date()
    return build_edition(session, settings=settings, mailing_list=mailing_list, day=day)
