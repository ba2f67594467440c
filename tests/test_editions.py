"""Edition assembly on both backends: the window, categories, ranking, cap, freezing, empty days, and the CLI."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from typer.testing import CliRunner

from service import editions as editions_module
from service.cli import app as cli_app
from service.core.db import session_factory
from service.editions import build_edition, edition_stories
from service.editions.rendering import edition_message
from service.lists.rules import create_list
from service.models import Edition, EditionStatus, Subscriber, as_utc
from service.stories import StoryInput, upsert_story
from tests.support.edition_stories import add_story

DAY = date(2026, 3, 10)  # London is on GMT: 07:00 there is 07:00 UTC
T0 = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # the world-news list's send moment on DAY


def build(db, settings, mailing_list, day=DAY, now=T0, **overrides):
    """build_edition at a chosen moment, with settings overridden for this call only."""
    used = settings.model_copy(update=overrides) if overrides else settings
    return build_edition(db, settings=used, mailing_list=mailing_list, day=day, now=now)


def titles(db, edition) -> list[str]:
    """The edition's story titles, in edition order."""
    return [story.title for story in edition_stories(db, edition)]


def edition_count(db) -> int:
    """Editions stored, read fresh."""
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Edition))


def test_an_edition_takes_stories_whose_newest_item_is_at_most_36_hours_old(db, settings, world_news):
    add_story(db, "Too old", received_at=T0 - timedelta(hours=36, minutes=1))
    add_story(db, "Yesterday morning", received_at=T0 - timedelta(hours=23))
    add_story(db, "Just in", received_at=T0 - timedelta(minutes=1))
    add_story(db, "After the cut-off", received_at=T0 + timedelta(minutes=1))

    edition = build(db, settings, world_news)

    assert set(titles(db, edition)) == {"Yesterday morning", "Just in"}
    assert (as_utc(edition.window_start), as_utc(edition.window_end)) == (T0 - timedelta(hours=36), T0)
    edition.send_status = EditionStatus.complete
    db.commit()
    shorter = build(
        db, settings, world_news, day=DAY + timedelta(days=1), now=T0 + timedelta(hours=1), story_max_age_hours=12
    )
    assert titles(db, shorter) == ["After the cut-off"], "sent stories never go again; stale ones are skipped"


def test_a_story_goes_out_once_and_a_stale_one_never(db, settings, world_news):
    add_story(db, "Sent on day one", received_at=T0 - timedelta(hours=1))
    first = build(db, settings, world_news)
    first.send_status = EditionStatus.complete
    db.commit()
    assert titles(db, first) == ["Sent on day one"]

    # The next day has nothing new: skipped, although day one's story is still within 36 hours.
    assert build(db, settings, world_news, day=DAY + timedelta(days=1), now=T0 + timedelta(days=1)) is None
    add_story(db, "Two and a half days old", received_at=T0 + timedelta(days=1, hours=2))
    add_story(db, "Fresh", received_at=T0 + timedelta(days=3, hours=-1))

    later = build(db, settings, world_news, day=DAY + timedelta(days=3), now=T0 + timedelta(days=3))

    assert titles(db, later) == ["Fresh"], "a story older than the maximum age is news no more"


def test_a_past_days_edition_ends_at_that_days_send_time_in_the_lists_time_zone(db, settings, world_news):
    summer_day = date(2026, 7, 1)
    send = datetime.combine(summer_day, time(7, 0), tzinfo=ZoneInfo("Europe/London")).astimezone(UTC)  # BST
    add_story(db, "Before the send", received_at=send - timedelta(minutes=5))
    add_story(db, "After the send", received_at=send + timedelta(minutes=5))

    edition = build(db, settings, world_news, day=summer_day, now=send + timedelta(days=1, hours=3))

    assert titles(db, edition) == ["Before the send"]
    assert as_utc(edition.window_end) == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)


def test_a_moment_in_another_time_zone_means_the_same_instant(db, settings, world_news):
    add_story(db, "Half an hour ago", received_at=T0 - timedelta(minutes=30))
    add_story(db, "In half an hour", received_at=T0 + timedelta(minutes=30))

    edition = build(db, settings, world_news, now=T0.astimezone(ZoneInfo("Asia/Tokyo")))  # 16:00 in Tokyo

    assert titles(db, edition) == ["Half an hour ago"]


def test_only_the_lists_categories_and_every_category_for_a_list_without_any(db, settings, world_news):
    science = create_list(db, slug="science", name="Science daily", categories=["Science", "Space"])
    everything = create_list(db, slug="everything", name="Everything daily")
    for title, category in [("Summit", "World News"), ("Comet", "Space"), ("Vaccine", "Science"), ("Derby", "Sport")]:
        add_story(db, title, category=category, received_at=T0 - timedelta(hours=2))

    assert titles(db, build(db, settings, world_news)) == ["Summit"]
    assert set(titles(db, build(db, settings, science))) == {"Comet", "Vaccine"}
    assert set(titles(db, build(db, settings, everything))) == {"Summit", "Comet", "Vaccine", "Derby"}


def test_ranked_by_number_of_sources_then_recency(db, settings, world_news):
    add_story(db, "Two sources, newest", sources=2, story_date=DAY, received_at=T0 - timedelta(minutes=5))
    add_story(db, "Parliament votes on the budget", sources=5, received_at=T0 - timedelta(hours=5))
    add_story(db, "Floods close the northern railway", sources=5, received_at=T0 - timedelta(hours=1))
    add_story(db, "Central bank holds rates", sources=5, received_at=T0 - timedelta(hours=3))
    add_story(
        db,
        "Eleven sources, oldest",
        sources=11,
        story_date=DAY - timedelta(days=5),
        received_at=T0 - timedelta(hours=20),
    )

    edition = build(db, settings, world_news)

    assert titles(db, edition) == [
        "Eleven sources, oldest",
        "Floods close the northern railway",  # equal sources: the newest first
        "Central bank holds rates",
        "Parliament votes on the budget",
        "Two sources, newest",
    ]


def test_capped_at_ten_by_default_and_configurable(db, settings, world_news):
    assert settings.edition_max_stories == 10
    for sources in range(1, 14):
        add_story(db, f"{sources} sources", sources=sources, received_at=T0 - timedelta(hours=1, minutes=sources))

    assert titles(db, build(db, settings, world_news)) == [f"{n} sources" for n in range(13, 3, -1)]
    other = create_list(db, slug="short", name="Short daily", categories=["World News"])
    assert titles(db, build(db, settings, other, edition_max_stories=3)) == ["13 sources", "12 sources", "11 sources"]


def test_an_edition_is_frozen_once_built(db, settings, world_news):
    add_story(db, "Summit", sources=4, key_points=["Leaders met in Tokyo."], received_at=T0 - timedelta(hours=2))
    add_story(db, "Election", sources=3, received_at=T0 - timedelta(hours=3))
    built = build(db, settings, world_news)
    frozen = (built.id, list(built.story_ids), built.subject, built.html, built.text, built.placeholder_key)

    # Later: a new story inside the same window, and the Summit story updated in place.
    add_story(db, "Late arrival", sources=40, received_at=T0 - timedelta(minutes=10))
    add_story(db, "Summit", sources=4, key_points=["Rewritten after the send."], received_at=T0 - timedelta(hours=2))
    again = build(db, settings, world_news, now=T0 + timedelta(hours=5))

    fresh = session_factory(settings.effective_database_url)()
    try:
        stored = fresh.scalar(select(Edition).where(Edition.list_id == world_news.id, Edition.edition_date == DAY))
        as_stored = (
            stored.id,
            list(stored.story_ids),
            stored.subject,
            stored.html,
            stored.text,
            stored.placeholder_key,
        )
    finally:
        fresh.close()
    assert (again.id, list(again.story_ids), again.subject, again.html, again.text, again.placeholder_key) == frozen
    assert as_stored == frozen
    assert edition_count(db) == 1

    # A reader who subscribes afterwards gets exactly what was built.
    late_reader = Subscriber(email="late.reader@example.com", name="Late Reader")
    db.add(late_reader)
    db.commit()
    html = edition_message(settings, again, world_news, late_reader).get_body(("html",)).get_content()
    assert "Leaders met in Tokyo." in html
    assert "Rewritten after the send." not in html and "Late arrival" not in html


def test_losing_a_build_race_returns_the_winners_edition(db, settings, world_news, monkeypatch):
    add_story(db, "Summit", received_at=T0 - timedelta(hours=1))
    winner = build(db, settings, world_news)
    real_get_edition = editions_module.get_edition
    calls = []

    def not_seen_yet(*args, **kwargs):
        """The loser looked before the winner committed."""
        calls.append(1)
        return None if len(calls) == 1 else real_get_edition(*args, **kwargs)

    monkeypatch.setattr(editions_module, "get_edition", not_seen_yet)
    loser = build(db, settings, world_news)

    assert loser.id == winner.id and loser.html == winner.html
    assert edition_count(db) == 1


def test_a_day_without_stories_is_skipped(db, settings, world_news):
    add_story(db, "Only sport today", category="Sport", received_at=T0 - timedelta(hours=1))
    add_story(db, "Too old", received_at=T0 - timedelta(days=3))

    assert build(db, settings, world_news) is None
    assert edition_count(db) == 0


def test_a_day_without_stories_is_built_when_configured_not_to_skip(db, settings, world_news):
    edition = build(db, settings, world_news, skip_empty_editions=False)

    assert edition is not None and edition.story_ids == []
    assert "No new stories since the last edition." in edition.text
    assert "No new stories since the last edition." in edition.html
    assert edition_count(db) == 1


def london_today() -> date:
    """The CLI's default day: today where the list lives."""
    return datetime.now(ZoneInfo("Europe/London")).date()


def test_cli_build_prints_the_edition_id_and_its_stories_in_order(db, settings, world_news):
    hostile = "[update] Markets [/b] & {{ 7*7 }} " + "and a very long headline that must not wrap " * 3
    add_story(db, "Summit in Tokyo", sources=11)
    add_story(db, hostile.strip(), sources=7)
    add_story(db, "Election results", sources=2)
    runner = CliRunner()
    arguments = ["editions", "build", "--list", "world-news", "--date", london_today().isoformat()]

    first = runner.invoke(cli_app, arguments)
    assert first.exit_code == 0, first.output
    edition_id = int(re.search(r"^edition (\d+): World News daily: ", first.output, re.MULTILINE).group(1))
    db.expire_all()
    assert db.get(Edition, edition_id).edition_date == london_today()
    assert first.output.splitlines()[1:] == [
        "   1. [11 sources] Summit in Tokyo",
        f"   2. [7 sources] {hostile.strip()}",
        "   3. [2 sources] Election results",
    ]

    again = runner.invoke(cli_app, arguments)
    assert again.exit_code == 0, again.output
    assert again.output == first.output, "building again shows the same edition"
    assert edition_count(db) == 1


def test_cli_build_says_when_a_day_is_skipped(db, settings, world_news):
    result = CliRunner().invoke(cli_app, ["editions", "build", "--list", "world-news", "--date", "2026-03-10"])

    assert result.exit_code == 0, result.output
    assert "no stories for world-news on 2026-03-10: edition skipped" in result.output
    assert edition_count(db) == 0


def test_upserting_a_story_keeps_its_arrival_time(db, settings, world_news):
    """Re-importing a story must not move it into a later edition's window."""
    row = add_story(db, "Summit", received_at=T0 - timedelta(hours=2))
    story = StoryInput(
        title="Summit", category="World News", key_points=["Updated."], source_count=9, story_date=date(2026, 3, 6)
    )
    again, created = upsert_story(db, story)
    db.commit()
    assert not created and again.id == row.id
    assert as_utc(again.received_at) == T0 - timedelta(hours=2)
