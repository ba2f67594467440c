"""Admin lists: create, edit and archive from the screen and the API; an archived list leaves the public pages and
gets no edition; viewers read the overview only."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from service.admin.models import AdminRole, AuditEntry
from service.cli import app as cli_app
from service.core.db import engine_for
from service.delivery.schedule import dispatch
from service.editions import get_edition
from service.lists.rules import create_list, get_list
from service.models import EditionStatus, Subscriber
from tests.support.admin import NoMail, csrf_of, signed_in
from tests.support.apps import shared_app
from tests.support.edition_stories import add_story
from tests.support.readers import add_readers

TOKEN = "lists-admin-token-0123456789abcdefghijklmn"


@pytest.fixture
def web(settings, db):
    """A browser-like client of the real app (no worker needed: lists send no mail)."""
    app = shared_app(settings.model_copy(update={"admin_token": TOKEN}), notifier=NoMail())
    with TestClient(app, follow_redirects=False) as client:
        yield client


def audit_of(db, action: str) -> list[AuditEntry]:
    """The audit entries of one kind, oldest first."""
    db.expire_all()
    entries = list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
    db.commit()
    return entries


def fresh(db, slug: str):
    """The list as the database has it now."""
    db.expire_all()
    found = get_list(db, slug)
    db.commit()
    return found


FORM = {
    "slug": "science",
    "name": "Science weekly",
    "description": "Discoveries.",
    "send_time": "08:30",
    "timezone": "Europe/Paris",
    "double_opt_in": "1",
    "categories": "Science, Health",
    "languages": "en, fr",
}


def test_an_admin_creates_edits_and_archives_a_list_and_it_leaves_the_subscribe_page(web, db, world_news):
    signed_in(web, db)
    csrf = csrf_of(web, "/admin/lists/new")
    answer = web.post("/admin/lists", data={**FORM, "csrf_token": csrf})
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/lists"
    overview = web.get("/admin/lists").text
    assert "Created the list science." in overview and "Science weekly" in overview and "Europe/Paris" in overview
    created = fresh(db, "science")
    assert created.send_time == time(8, 30) and created.categories == ["Health", "Science"]
    assert created.languages == ["en", "fr"] and created.double_opt_in and not created.local_time_delivery
    assert "Science weekly" in web.get("/subscribe").text

    edit = web.get("/admin/lists/science")
    assert 'value="08:30"' in edit.text and "Health, Science" in edit.text
    unticked = {key: value for key, value in FORM.items() if key != "double_opt_in"}
    answer = web.post(
        "/admin/lists/science",
        data={
            **unticked,
            "csrf_token": csrf,
            "send_time": "06:15",
            "timezone": "America/New_York",
            "local_time_delivery": "1",
            "categories": "Science",
            "languages": "en",
        },
    )
    assert answer.status_code == 303
    changed = fresh(db, "science")
    assert changed.send_time == time(6, 15) and changed.timezone == "America/New_York"
    assert changed.local_time_delivery and not changed.double_opt_in and changed.categories == ["Science"]
    assert changed.languages == ["en"]
    [update] = audit_of(db, "list.update")
    assert update.actor == "ann@example.org" and update.object_id == "science"
    assert update.details["send_time"] == "06:15" and update.details["double_opt_in"] is False

    assert web.post("/admin/lists/science/archive", data={"csrf_token": csrf}).status_code == 303
    assert fresh(db, "science").archived_at is not None
    assert "archived" in web.get("/admin/lists").text
    assert "Science weekly" not in web.get("/subscribe").text and "World News daily" in web.get("/subscribe").text
    refused = web.post("/api/subscriptions", json={"email": "new@example.org", "lists": ["science"]})
    assert refused.status_code == 404 and "takes no new readers" in refused.json()["detail"]
    assert [e.actor for e in audit_of(db, "list.create") + audit_of(db, "list.archive")] == ["ann@example.org"] * 2

    assert web.post("/admin/lists/science/unarchive", data={"csrf_token": csrf}).status_code == 303
    assert fresh(db, "science").archived_at is None and "Science weekly" in web.get("/subscribe").text


def test_a_bad_field_rerenders_the_form_with_the_message_and_what_was_typed(web, db):
    signed_in(web, db)
    csrf = csrf_of(web, "/admin/lists/new")
    answer = web.post("/admin/lists", data={**FORM, "csrf_token": csrf, "timezone": "Mars/Olympus"})
    assert answer.status_code == 422
    assert "Unknown time zone: &#39;Mars/Olympus&#39;" in answer.text and 'value="Science weekly"' in answer.text
    assert web.post("/admin/lists", data={**FORM, "csrf_token": csrf, "send_time": "25:99"}).status_code == 422
    assert web.post("/admin/lists", data={**FORM, "csrf_token": csrf, "languages": "english"}).status_code == 422
    db.expire_all()
    assert db.scalar(select(AuditEntry.id).where(AuditEntry.action == "list.create")) is None


def test_an_archived_list_gets_no_edition_while_an_open_one_does(db, settings):
    open_list = create_list(db, slug="open", name="Open", send_time=time(7, 0), timezone="UTC")
    closed = create_list(db, slug="closed", name="Closed", send_time=time(7, 0), timezone="UTC")
    engine = engine_for(settings.effective_database_url)
    add_readers(engine, open_list.id, 2, prefix="open")
    add_readers(engine, closed.id, 2, prefix="closed")
    from service.lists.changes import archive_list

    archive_list(db, "closed")
    db.commit()
    started = dispatch(
        settings.model_copy(update={"skip_empty_editions": False}), datetime(2026, 3, 10, 7, 1, tzinfo=UTC)
    )
    assert [s.list_slug for s in started] == ["open"]


def test_the_api_creates_changes_and_archives_lists(web, db, world_news):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    made = web.post(
        "/api/admin/lists",
        headers=auth,
        json={"slug": "tech", "name": "Tech", "timezone": "Asia/Tokyo", "categories": ["Technology"]},
    )
    assert made.status_code == 201, made.text
    assert made.json()["timezone"] == "Asia/Tokyo" and made.json()["confirmed_readers"] == 0
    assert web.post("/api/admin/lists", headers=auth, json={"slug": "tech", "name": "Again"}).status_code == 422
    patched = web.patch("/api/admin/lists/tech", headers=auth, json={"send_time": "09:45", "languages": ["de"]})
    assert patched.status_code == 200 and patched.json()["send_time"] == "09:45"
    assert patched.json()["languages"] == ["de"] and patched.json()["categories"] == ["Technology"]
    assert web.patch("/api/admin/lists/tech", headers=auth, json={"timezone": "Nowhere/Else"}).status_code == 422
    assert web.patch("/api/admin/lists/nope", headers=auth, json={}).status_code == 404
    archived = web.post("/api/admin/lists/tech/archive", headers=auth)
    assert archived.status_code == 200 and archived.json()["archived"] is True
    slugs = {row["slug"]: row["archived"] for row in web.get("/api/admin/lists", headers=auth).json()}
    assert slugs == {"tech": True, "world-news": False}
    assert [
        e.action for e in audit_of(db, "list.create") + audit_of(db, "list.update") + audit_of(db, "list.archive")
    ] == ["list.create", "list.update", "list.archive"]


def test_a_viewer_reads_the_overview_and_changes_nothing(web, db, world_news):
    signed_in(web, db, email="vic@example.org", role=AdminRole.viewer)
    assert "World News daily" in web.get("/admin/lists").text
    assert "New list" not in web.get("/admin/lists").text
    assert web.get("/api/admin/lists").status_code == 200
    csrf = csrf_of(web, "/admin/lists")
    assert web.get("/admin/lists/new").status_code == 403
    assert web.get("/admin/lists/world-news").status_code == 403
    assert web.post("/admin/lists", data={**FORM, "csrf_token": csrf}).status_code == 403
    assert web.post("/admin/lists/world-news/archive", data={"csrf_token": csrf}).status_code == 403
    headers = {"X-CSRF-Token": csrf}
    assert web.patch("/api/admin/lists/world-news", headers=headers, json={"name": "Mine"}).status_code == 403
    assert web.post("/api/admin/lists/world-news/archive", headers=headers).status_code == 403
    assert fresh(db, "world-news").archived_at is None and fresh(db, "world-news").name == "World News daily"


def test_a_request_checked_before_the_list_was_archived_adds_nobody(db, world_news):
    from service.lists.changes import archive_list
    from service.readers.subscribe_requests import carry_out, check_request
    from service.readers.subscriptions.consent import ConsentContext

    class Recorder:
        def __init__(self):
            self.sent = []

        def confirmation(self, subscriber_id, list_ids):
            self.sent.append(("confirmation", subscriber_id, list_ids))

        welcome = confirmation

    checked = check_request(
        db,
        email="late@example.org",
        name=None,
        list_slugs=["world-news"],
        timezone=None,
        consent=ConsentContext(source="form", ip="192.0.2.1", user_agent="test", consent_text_version="v1"),
    )
    archive_list(db, "world-news")
    db.commit()
    notifier = Recorder()
    result = carry_out(db, checked, notifier=notifier)
    assert result.subscriber_id is None and notifier.sent == []
    db.expire_all()
    assert db.scalar(select(Subscriber).where(Subscriber.email == "late@example.org")) is None


def test_a_list_created_to_hold_its_editions_waits_past_its_send_time_with_a_link_to_approve(web, db, settings):
    signed_in(web, db)
    csrf = csrf_of(web, "/admin/lists/new")
    assert "Hold until an editor approves it" in web.get("/admin/lists/new").text
    now = datetime.now(UTC)
    due = now - timedelta(minutes=5)
    form = {**FORM, "csrf_token": csrf, "send_time": due.strftime("%H:%M"), "timezone": "UTC", "send_mode": "hold"}
    assert web.post("/admin/lists", data=form).status_code == 303
    held = fresh(db, "science")
    assert held.send_mode == "hold"
    [entry] = audit_of(db, "list.send_mode")
    assert entry.actor == "ann@example.org" and entry.details == {"from": "auto", "to": "hold"}
    add_readers(engine_for(settings.effective_database_url), held.id, 3)
    add_story(db, "A held discovery", category="Science", received_at=now - timedelta(hours=1))

    assert dispatch(settings, now) == [], "held: nothing goes out at the send time"
    draft = get_edition(db, held, due.date())
    assert draft is not None and draft.send_status == EditionStatus.draft
    alert = web.get("/admin").text.split("Needs attention")[1].split("</ul>")[0]
    assert "science" in alert and "waiting for approval" in alert
    assert f'<a href="/admin/editions/{draft.id}">open edition #{draft.id}</a>' in alert
    assert "Approve and freeze now" in web.get(f"/admin/editions/{draft.id}").text

    assert '<option value="hold" selected>' in web.get("/admin/lists/science").text
    refused = web.post("/admin/lists/science", data={**form, "name": "Renamed", "send_mode": "sometimes"})
    assert refused.status_code == 422
    assert "The send mode must be one of auto, hold; got &#39;sometimes&#39;." in refused.text
    assert (fresh(db, "science").name, fresh(db, "science").send_mode) == ("Science weekly", "hold")
    assert web.post("/admin/lists/science", data={**form, "send_mode": "auto"}).status_code == 303
    assert fresh(db, "science").send_mode == "auto"
    assert [e.details["to"] for e in audit_of(db, "list.send_mode")] == ["hold", "auto"]


def test_the_api_round_trips_the_send_mode_and_refuses_a_bad_one(web, db, world_news):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    created = web.post("/api/admin/lists", headers=auth, json={"slug": "tech", "name": "Tech", "send_mode": "hold"})
    assert created.status_code == 201 and created.json()["send_mode"] == "hold"
    listed = {row["slug"]: row["send_mode"] for row in web.get("/api/admin/lists", headers=auth).json()}
    assert listed == {"tech": "hold", "world-news": "auto"}

    bad = web.patch("/api/admin/lists/tech", headers=auth, json={"name": "Renamed", "send_mode": "later"})
    assert bad.status_code == 422
    assert bad.json()["detail"] == "send_mode: Input should be 'auto' or 'hold'"
    assert (fresh(db, "tech").name, fresh(db, "tech").send_mode) == ("Tech", "hold")
    other = web.post("/api/admin/lists", headers=auth, json={"slug": "other", "name": "Other", "send_mode": "x"})
    assert other.status_code == 422 and other.json()["detail"] == "send_mode: Input should be 'auto' or 'hold'"
    assert web.patch("/api/admin/lists/other", headers=auth, json={}).status_code == 404, "nothing was stored"

    patched = web.patch("/api/admin/lists/tech", headers=auth, json={"send_mode": "auto"})
    assert patched.status_code == 200 and patched.json()["send_mode"] == "auto"
    assert fresh(db, "tech").send_mode == "auto"
    assert [(e.object_id, e.details["to"]) for e in audit_of(db, "list.send_mode")] == [
        ("tech", "hold"),
        ("tech", "auto"),
    ]


def test_the_cli_sets_the_send_mode_when_creating_and_editing_a_list(db):
    runner = CliRunner()
    made = runner.invoke(cli_app, ["lists", "create", "tech", "--name", "Tech", "--send-mode", "hold"])
    assert made.exit_code == 0 and "send mode hold" in made.output
    assert fresh(db, "tech").send_mode == "hold"
    bad = runner.invoke(cli_app, ["lists", "edit", "tech", "--name", "Renamed", "--send-mode", "never"])
    assert bad.exit_code != 0, "main() prints the message as one `error:` line and exits 2"
    assert str(bad.exception) == "The send mode must be one of auto, hold; got 'never'."
    assert (fresh(db, "tech").name, fresh(db, "tech").send_mode) == ("Tech", "hold")
    edited = runner.invoke(cli_app, ["lists", "edit", "tech", "--send-mode", "auto"])
    assert edited.exit_code == 0 and "send_mode" in edited.output and fresh(db, "tech").send_mode == "auto"
