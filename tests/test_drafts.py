"""Draft editions: reassembled on every poll until the send time, frozen when sending starts, held for approval."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from service.cli import app as cli_app
from service.core.db import engine_for, session_factory
from service.delivery.approval import approve
from service.delivery.schedule import dispatch
from service.editions import edition_stories, get_edition
from service.editions.drafts import awaiting_approval, refresh_drafts
from service.editions.editing import Editor
from service.models import Delivery, Edition, EditionStatus
from service.ops.monitoring.metrics import render as render_metrics
from service.ops.monitoring.status import snapshot
from tests.support.admin import signed_in
from tests.support.edition_stories import add_story
from tests.support.readers import add_readers

DAY = date(2026, 3, 10)  # London is on GMT: the list's 07:00 is 07:00 UTC
SEND = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
EDITOR = Editor("editor@example.com", ip=None)


def titles(db, edition) -> list[str]:
    """The edition's headlines, in order."""
    db.expire_all()
    return [story.title for story in edition_stories(db, db.get(Edition, edition.id))]


def stored(settings, edition_id: int) -> Edition:
    """The edition as another process reads it."""
    fresh = session_factory(settings.effective_database_url)()
    try:
        edition = fresh.get(Edition, edition_id)
        fresh.expunge(edition)
        return edition
    finally:
        fresh.close()


def test_a_draft_takes_in_stories_polled_later_until_its_send_time_then_never(db, settings, world_news):
    add_readers(engine_for(settings.effective_database_url), world_news.id, 3)
    add_story(db, "Early story", received_at=SEND - timedelta(hours=5))
    refresh_drafts(db, settings, SEND - timedelta(hours=4))
    draft = get_edition(db, world_news, DAY)
    assert draft is not None and draft.send_status == EditionStatus.draft and draft.frozen_at is None
    assert titles(db, draft) == ["Early story"]

    add_story(db, "An hour later", sources=9, received_at=SEND - timedelta(hours=1))
    refresh_drafts(db, settings, SEND - timedelta(minutes=30))
    assert titles(db, draft) == ["An hour later", "Early story"], "the next poll's story reaches today's email"
    assert "An hour later" in stored(settings, draft.id).html

    started = dispatch(settings, SEND + timedelta(minutes=1))
    assert [s.planned for s in started] == [3]
    sent = stored(settings, draft.id)
    assert sent.send_status == EditionStatus.sending and sent.frozen_at is not None

    add_story(db, "After the send started", sources=20, received_at=SEND + timedelta(minutes=2))
    refresh_drafts(db, settings, SEND + timedelta(minutes=3))
    after = stored(settings, draft.id)
    assert (after.html, after.story_ids, after.version) == (sent.html, sent.story_ids, sent.version)


def test_a_held_edition_waits_past_its_send_time_shows_as_a_problem_and_goes_out_when_approved(
    db, settings, world_news
):
    world_news.send_mode = "hold"
    db.commit()
    add_readers(engine_for(settings.effective_database_url), world_news.id, 4)
    add_story(db, "Held story", received_at=SEND - timedelta(hours=2))

    assert dispatch(settings, SEND + timedelta(minutes=1)) == [], "nobody approved it: nothing starts"
    assert dispatch(settings, SEND + timedelta(hours=30)) == [], "not even after the catch-up window"
    draft = get_edition(db, world_news, DAY)
    assert draft is not None and draft.send_status == EditionStatus.draft
    later = SEND + timedelta(hours=2)
    assert [(w.list_slug, w.edition_date) for w in awaiting_approval(db, later)] == [(world_news.slug, DAY)]
    found = snapshot(settings, now=later)
    assert any(f"edition {world_news.slug} {DAY}" in p and "waiting for approval" in p for p in found.problems)
    assert not found.healthy
    assert b"newsletter_editions_awaiting_approval 1.0" in render_metrics(settings, found)

    outcome = approve(db, settings, draft.id, EDITOR, expected_version=draft.version, now=later)
    assert outcome.planned == 4, "approved after its send time: it goes out at once"
    db.expire_all()
    assert db.get(Edition, draft.id).send_status == EditionStatus.sending
    assert db.get(Edition, draft.id).frozen_by == EDITOR.name
    assert awaiting_approval(db, later) == []
    rows = db.scalars(select(Delivery.id).where(Delivery.edition_id == draft.id)).all()
    assert len(rows) == 4


def test_a_held_edition_approved_before_its_send_time_goes_at_the_send_time_with_what_was_approved(
    db, settings, world_news
):
    world_news.send_mode = "hold"
    db.commit()
    add_readers(engine_for(settings.effective_database_url), world_news.id, 2)
    add_story(db, "Approved story", received_at=SEND - timedelta(hours=3))
    refresh_drafts(db, settings, SEND - timedelta(hours=2))
    draft = get_edition(db, world_news, DAY)
    outcome = approve(db, settings, draft.id, EDITOR, expected_version=draft.version, now=SEND - timedelta(hours=1))
    assert outcome.planned is None, "frozen now, sent at the send time"

    add_story(db, "Too late for the approved edition", sources=30, received_at=SEND - timedelta(minutes=30))
    refresh_drafts(db, settings, SEND - timedelta(minutes=20))
    assert titles(db, draft) == ["Approved story"]
    assert [s.planned for s in dispatch(settings, SEND + timedelta(minutes=1))] == [2]


def test_newsletter_status_and_the_dashboard_show_an_edition_waiting_for_approval(client, db, settings, world_news):
    world_news.send_mode = "hold"
    db.commit()
    add_story(db, "Waiting story", received_at=datetime.now(UTC) - timedelta(hours=1))
    today = datetime.now(UTC).date()
    world_news.send_time = (datetime.now(UTC) - timedelta(minutes=5)).time().replace(second=0, microsecond=0)
    world_news.timezone = "UTC"
    db.commit()
    dispatch(settings, datetime.now(UTC))
    result = CliRunner().invoke(cli_app, ["status"])
    assert result.exit_code == 1
    assert f"edition {world_news.slug} {today}" in result.output and "waiting for approval" in result.output
    dashboard = signed_in(client, db).get("/admin").text
    assert f"edition {world_news.slug} {today}" in dashboard and "waiting for approval" in dashboard
