"""Editing a draft through the admin pages, the JSON API and the CLI: drop, pin, reorder, edit, introduce, approve."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from typer.testing import CliRunner

from service.admin import api_tokens
from service.admin.models import AdminRole, AuditEntry
from service.cli import app as cli_app
from service.core.db import engine_for
from service.core.errors import Conflict
from service.editions import build_edition
from service.models import Delivery, Edition, EditionStatus
from tests.support.admin import csrf_of, signed_in
from tests.support.edition_stories import add_story, day_of_stories
from tests.support.readers import add_readers

HOSTILE_INTRO = (
    "Good morning. <script>alert(1)</script> Read [our notes](https://example.org/notes) and "
    "https://example.org/more\n\nSecond paragraph [bad](javascript:alert(2))."
)


def today(mailing_list) -> date:
    """Today where the list lives."""
    return datetime.now(ZoneInfo(mailing_list.timezone)).date()


def fresh(db, edition_id: int) -> Edition:
    """The edition as stored now."""
    db.expire_all()
    return db.get(Edition, edition_id)


def titles_on_page(page: str) -> list[str]:
    """The draft's headlines in the order the editor's page lists them."""
    return [html.unescape(t) for t in re.findall(r'<strong class="story-title">(.*?)</strong>', page)]


def form(client, path: str, data: dict, page: str):
    """Submit an admin form with the session's CSRF token, not following the redirect."""
    return client.post(path, data={**data, "csrf_token": csrf_of(client, page)}, follow_redirects=False)


def audit_actions(db, edition_id: int) -> list[tuple[str, str]]:
    """(actor, action) of the edition's audit entries, oldest first."""
    db.expire_all()
    query = select(AuditEntry).where(AuditEntry.object_type == "edition", AuditEntry.object_id == str(edition_id))
    return [(e.actor, e.action) for e in db.scalars(query.order_by(AuditEntry.id))]


def test_an_editor_drops_moves_edits_and_introduces_a_draft_in_the_admin_pages(client, db, world_news, settings):
    signed_in(client, db)
    add_readers(engine_for(settings.effective_database_url), world_news.id, 5)
    stories = day_of_stories(db, 4, hostile=False)
    opened = form(
        client,
        "/admin/editions/day/draft",
        {"list": world_news.slug, "date": today(world_news)},
        f"/admin/lists/{world_news.slug}/today",
    )
    assert opened.status_code == 303
    edition_id = int(opened.headers["location"].rsplit("/", 1)[1])
    page_url = f"/admin/editions/{edition_id}"
    page = client.get(page_url).text
    order = titles_on_page(page)
    assert sorted(order) == sorted(s.title for s in stories)
    assert f"Send to 5 readers of {world_news.name}" in page
    version = fresh(db, edition_id).version

    by_title = {s.title: s.id for s in stories}
    dropped = order[1]
    assert (
        form(client, f"{page_url}/stories/{by_title[dropped]}/drop", {"version": version}, page_url).status_code == 303
    )
    page = client.get(page_url).text
    assert dropped not in titles_on_page(page) and "Put back" in page
    last = order[-1]
    assert (
        form(client, f"{page_url}/stories/{by_title[last]}/up", {"version": version + 1}, page_url).status_code == 303
    )
    assert titles_on_page(client.get(page_url).text) == [order[0], last, order[2]]

    edited = form(
        client,
        f"{page_url}/stories/{by_title[order[0]]}/edit",
        {"version": version + 2, "title": "Our own headline", "points": "First point.\n\nSecond point."},
        page_url,
    )
    assert edited.status_code == 303
    assert (
        form(client, f"{page_url}/intro", {"version": version + 3, "text": HOSTILE_INTRO}, page_url).status_code == 303
    )

    preview = client.get(f"{page_url}/preview.html").text
    assert "Our own headline" in preview and "First point." in preview and order[0] not in preview
    assert re.search(r'<a href="https://example.org/notes" rel="noopener noreferrer"[^>]*>our notes</a>', preview)
    assert 'href="https://example.org/more"' in preview
    assert "<script>alert(1)</script>" not in preview and "&lt;script&gt;" in preview
    assert 'href="javascript' not in preview and "[bad](javascript:alert(2))" in preview, "shown, never a link"
    text = client.get(f"{page_url}/text").text
    assert "Our own headline" in html.unescape(text) and "Good morning." in text

    stale = form(client, f"{page_url}/stories/{by_title[last]}/drop", {"version": version}, page_url)
    assert stale.status_code == 409 and "changed since you opened it" in stale.text
    assert last in titles_on_page(client.get(page_url).text), "the stale save changed nothing"
    assert fresh(db, edition_id).version == version + 4
    assert [action for _, action in audit_actions(db, edition_id)] == [
        "edition.drop",
        "edition.reorder",
        "edition.edit_story",
        "edition.intro",
    ]
    assert {actor for actor, _ in audit_actions(db, edition_id)} == {"ann@example.org"}


def test_the_api_reorders_edits_and_approves_with_a_version_check(client, db, world_news, settings):
    token = api_tokens.create_token(db, name="desk bot", role=AdminRole.admin, created_by="test").secret
    db.commit()
    client.headers["Authorization"] = f"Bearer {token}"
    stories = day_of_stories(db, 3, hostile=False)
    made = client.post(f"/api/admin/lists/{world_news.slug}/draft", json={})
    assert made.status_code == 200, made.text
    draft = made.json()
    assert draft["editable"] and draft["send"]["readers"] == 0
    edition_id, version = draft["edition_id"], draft["version"]
    ids = [story["id"] for story in draft["stories"]]
    assert sorted(ids) == sorted(s.id for s in stories)

    turned = client.put(f"/api/admin/editions/{edition_id}/order", json={"version": version, "order": ids[::-1]})
    assert turned.status_code == 200 and [s["id"] for s in turned.json()["stories"]] == ids[::-1]
    other_editor = client.put(f"/api/admin/editions/{edition_id}/order", json={"version": version, "order": ids})
    assert other_editor.status_code == 409 and "changed since you opened it" in other_editor.json()["detail"]
    wrong = client.put(f"/api/admin/editions/{edition_id}/order", json={"version": version + 1, "order": ids[:2]})
    assert wrong.status_code == 422

    story_id = ids[0]
    changed = client.put(
        f"/api/admin/editions/{edition_id}/stories/{story_id}",
        json={"version": version + 1, "title": "API headline", "points": ["Only point."]},
    )
    assert changed.status_code == 200
    row = next(s for s in changed.json()["stories"] if s["id"] == story_id)
    assert (row["title"], row["points"], row["edited"]) == ("API headline", ["Only point."], True)
    assert "API headline" in fresh(db, edition_id).html

    approved = client.post(f"/api/admin/editions/{edition_id}/approve", json={"version": version + 2})
    assert approved.status_code == 200 and approved.json()["editable"] is False
    assert fresh(db, edition_id).frozen_by == "token:desk bot"
    assert [action for _, action in audit_actions(db, edition_id)] == [
        "edition.reorder",
        "edition.edit_story",
        "edition.approve",
    ]
    late = client.post(f"/api/admin/editions/{edition_id}/stories/{story_id}/drop", json={})
    assert late.status_code == 409 and "no longer changes" in late.json()["detail"]


def test_the_cli_shapes_the_draft_through_the_same_use_cases(db, settings, world_news):
    stories = day_of_stories(db, 3, hostile=False)
    runner = CliRunner()
    day = today(world_news).isoformat()
    built = runner.invoke(cli_app, ["editions", "build", "--list", world_news.slug, "--date", day])
    assert built.exit_code == 0 and "(draft, version 1)" in built.output, built.output
    target = stories[0]
    dropped = runner.invoke(
        cli_app,
        ["editions", "drop", "--list", world_news.slug, "--date", day, "--story", str(target.id), "--version", "1"],
    )
    assert dropped.exit_code == 0 and "(version 2)" in dropped.output, dropped.output
    stale = runner.invoke(
        cli_app, ["editions", "intro", "--list", world_news.slug, "--date", day, "--text", "Hello", "--version", "1"]
    )
    assert isinstance(stale.exception, Conflict) and "changed since you opened it" in str(stale.exception), (
        "`newsletter` prints it as one error line, exit 2"
    )
    said = runner.invoke(cli_app, ["editions", "intro", "--list", world_news.slug, "--date", day, "--text", "Hello"])
    assert said.exit_code == 0, said.output
    edition = db.scalar(select(Edition).where(Edition.list_id == world_news.id))
    db.refresh(edition)
    assert target.id not in edition.story_ids and edition.intro == "Hello" and "Hello" in edition.text
    assert [e.actor for e in db.scalars(select(AuditEntry).where(AuditEntry.object_id == str(edition.id)))] == [
        "cli",
        "cli",
    ]


def test_send_now_names_the_audience_and_warns_of_an_old_edition_with_stale_stories(client, db, world_news, settings):
    signed_in(client, db)
    add_readers(engine_for(settings.effective_database_url), world_news.id, 12)
    old_day = today(world_news) - timedelta(days=300)
    moment = datetime.combine(old_day, world_news.send_time, tzinfo=UTC)
    add_story(db, "Ten months ago", received_at=moment - timedelta(hours=2))
    build_edition(db, settings=settings, mailing_list=world_news, day=old_day, now=moment, freeze=False)
    page = client.get(f"/admin/editions/day?list={world_news.slug}&date={old_day}", follow_redirects=True).text
    assert f"Send to 12 readers of {world_news.name}" in page
    label = f"{old_day:%A} {old_day.day} {old_day:%B %Y}"
    assert "not today" in page and "300 days old" in page, page[page.find("Before you send") - 200 :][:1500]
    assert "older than the list" in page and "Ten months ago" in page
    assert html.escape(f"Send {world_news.name} of {label} to 12 readers now?", quote=True) in page
    facts = client.get(f"/api/admin/lists/{world_news.slug}/send-facts", params={"date": old_day.isoformat()}).json()
    assert facts["readers"] == 12 and len(facts["warnings"]) == 2

    started = form(
        client,
        "/admin/editions/day/send-now",
        {"list": world_news.slug, "date": old_day.isoformat()},
        f"/admin/editions/day?list={world_news.slug}&date={old_day}",
    )
    assert started.status_code == 303
    edition = db.scalar(select(Edition).where(Edition.edition_date == old_day))
    db.refresh(edition)
    assert edition.send_status != EditionStatus.draft and edition.frozen_at is not None
    planned = len(db.scalars(select(Delivery.id).where(Delivery.edition_id == edition.id)).all())
    assert planned == 12, "the count shown is the count planned"


def test_two_editors_saving_the_same_version_at_once_one_wins_the_other_is_told(db, settings, world_news):
    import threading

    from service.core.db import session_factory
    from service.editions import editing

    stories = day_of_stories(db, 4, hostile=False)
    edition = build_edition(db, settings=settings, mailing_list=world_news, day=today(world_news), freeze=False)
    seen, targets = edition.version, [stories[0].id, stories[1].id]
    factory = session_factory(settings.effective_database_url)
    ready = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def save(name: str, story_id: int) -> None:
        """One editor's drop, from their own session, at the same moment as the other's."""
        session = factory()
        try:
            ready.wait()
            editing.drop(session, settings, edition.id, story_id, editing.Editor(name), seen)
            outcomes[name] = "saved"
        except Conflict as error:
            outcomes[name] = error.message
        except Exception as error:  # noqa: BLE001  (SQLite's lock, say: reported, so the test fails with it)
            outcomes[name] = f"unexpected {type(error).__name__}: {error}"
        finally:
            session.close()

    threads = [
        threading.Thread(target=save, args=(name, story_id))
        for name, story_id in zip(("ann", "bob"), targets, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert list(outcomes.values()).count("saved") == 1, outcomes
    [told] = [text for text in outcomes.values() if text != "saved"]
    assert "changed since you opened it" in told, outcomes
    stored = fresh(db, edition.id)
    assert stored.version == seen + 1 and len(stored.dropped) == 1, "one drop landed, the other changed nothing"
    assert [action for _, action in audit_actions(db, edition.id)] == ["edition.drop"]
