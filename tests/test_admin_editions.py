"""Editions in the admin UI and API: preview, test send, send now with live progress, controls, failures, roles."""

from __future__ import annotations

import html
import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from service.admin import api_tokens
from service.admin.models import AdminRole, AuditEntry
from service.core.db import engine_for
from service.models import Delivery, DeliveryStatus, Edition, EditionStatus
from tests.support.admin import csrf_of, make_admin, open_browser_session, signed_in
from tests.support.edition_stories import day_of_stories
from tests.support.readers import add_readers, wait_until_complete

HEADLINE = "Floods close the northern railway (part 2)"  # the second story day_of_stories stores
IFRAME = re.compile(r'<iframe class="(desktop|phone)" sandbox src="([^"]+)"')


def today(mailing_list) -> str:
    """Today where the list lives, as the forms send it."""
    return datetime.now(ZoneInfo(mailing_list.timezone)).date().isoformat()


def audited(db) -> list[tuple[str, str, str]]:
    """(actor, action, object id) of every audit entry, oldest first."""
    db.expire_all()
    rows = [(e.actor, e.action, e.object_id) for e in db.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    db.commit()
    return [row for row in rows if not row[1].startswith("admin.")]


def post(client, path: str, data: dict, page: str = "/admin/editions"):
    """Submit an admin form as the browser would: with the session's CSRF token, not following the redirect."""
    return client.post(path, data={**data, "csrf_token": csrf_of(client, page)}, follow_redirects=False)


def send_now(client, world_news) -> int:
    """Press "Send now" on today's page; returns the started edition's id."""
    answer = post(client, "/admin/editions/day/send-now", {"list": world_news.slug, "date": today(world_news)})
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].rsplit("/", 1)[1])


def wait_for_progress(client, edition_id: int, timeout: float = 60.0) -> dict:
    """Poll the progress endpoint as admin.js does, until it says done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/admin/editions/{edition_id}/progress").json()
        if state["done"]:
            return state
        time.sleep(0.2)
    raise AssertionError(f"edition {edition_id} still sending after {timeout} s: {state}")


def test_todays_edition_previews_at_both_widths_before_it_is_built(client, db, world_news):
    signed_in(client, db)
    day_of_stories(db, 3)
    page = client.get(f"/admin/lists/{world_news.slug}/today")
    assert page.status_code == 200 and "not built yet" in page.text
    frames = dict(IFRAME.findall(page.text))
    assert set(frames) == {"desktop", "phone"}
    for src in frames.values():
        preview = client.get(html.unescape(src))
        assert preview.status_code == 200 and HEADLINE in preview.text
        assert "frame-ancestors 'self'" in preview.headers["content-security-policy"]
        assert "script-src" not in preview.headers["content-security-policy"], "the email runs nothing"
    text_link = re.search(r'<a href="([^"]+)">View the text part', page.text).group(1)
    assert HEADLINE in client.get(html.unescape(text_link)).text
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Edition)) == 0, "a preview freezes nothing"


def test_a_test_goes_to_the_address_typed_and_a_bad_address_is_shown_back(client, db, world_news, mailbox):
    signed_in(client, db)
    day_of_stories(db, 3)
    page = client.get(f"/admin/lists/{world_news.slug}/today")
    assert 'name="address" type="email" required value="ann@example.org"' in page.text, "defaults to the admin"
    answer = post(
        client,
        "/admin/editions/day/send-test",
        {"list": world_news.slug, "date": today(world_news), "address": "Editor@Example.COM"},
    )
    assert answer.status_code == 303
    [test] = mailbox.wait_for("editor@example.com")
    assert test.message["Subject"].startswith("[Test] ")
    assert "Test sent to editor@example.com" in client.get(answer.headers["location"]).text
    refused = post(
        client,
        "/admin/editions/day/send-test",
        {"list": world_news.slug, "date": today(world_news), "address": "not an address"},
    )
    assert refused.status_code == 422 and "not valid" in refused.text and 'value="not an address"' in refused.text
    assert audited(db) == [("ann@example.org", "edition.send_test", world_news.slug)]


def test_send_now_runs_through_the_real_worker_until_the_bar_is_full(client, db, world_news, mailbox, settings):
    signed_in(client, db)
    readers = add_readers(engine_for(settings.effective_database_url), world_news.id, 6)
    day_of_stories(db, 3)
    edition_id = send_now(client, world_news)
    state = wait_for_progress(client, edition_id)
    assert state["fraction"] == 1.0 and "6 sent" in state["label"]
    assert sorted(r for m in mailbox.received for r in m.rcpt_tos) == sorted(readers)
    page = client.get(f"/admin/editions/{edition_id}")
    assert "status-complete" in page.text and "Send now" not in page.text
    figures = client.get(f"/api/admin/editions/{edition_id}").json()
    assert (figures["planned"], figures["sent"], figures["sent_rate"], figures["send_status"]) == (
        6,
        6,
        1.0,
        "complete",
    )
    assert audited(db) == [("ann@example.org", "edition.send_now", str(edition_id))]
    listing = client.get("/admin/editions")
    assert f'href="/admin/editions/{edition_id}"' in listing.text and "status-complete" in listing.text


def test_pause_resume_and_cancel_change_the_edition_and_are_audited(client, db, world_news, settings):
    signed_in(client, db)
    asked: list[int] = []
    client.app.state.start_drains = lambda edition_id, count: asked.append(edition_id)  # keep it sending
    add_readers(engine_for(settings.effective_database_url), world_news.id, 4)
    day_of_stories(db, 3)
    edition_id = send_now(client, world_news)
    page = f"/admin/editions/{edition_id}"

    def status() -> str:
        db.expire_all()
        found = db.get(Edition, edition_id).send_status
        db.commit()
        return found

    assert status() == EditionStatus.sending and asked == [edition_id]
    assert post(client, f"{page}/pause", {}, page).status_code == 303 and status() == EditionStatus.paused
    assert "Resume" in client.get(page).text
    assert post(client, f"{page}/resume", {}, page).status_code == 303 and status() == EditionStatus.sending
    assert asked == [edition_id, edition_id], "resuming sets workers on it again"
    assert post(client, f"{page}/resume", {}, page).status_code == 422, "not paused: refused, said why"
    answer = post(client, f"{page}/cancel", {}, page)
    assert answer.status_code == 303 and status() == EditionStatus.cancelled
    assert "4 pending deliveries dropped" in client.get(answer.headers["location"]).text
    assert [action for _, action, _ in audited(db)] == [
        "edition.send_now",
        "edition.pause",
        "edition.resume",
        "edition.cancel",
    ]


def test_failures_show_the_smtp_reply_and_retry_sends_once_fixed(client, db, world_news, mailbox, settings):
    signed_in(client, db)
    readers = add_readers(engine_for(settings.effective_database_url), world_news.id, 3, prefix="refused")
    mailbox.reply_for[readers[1]] = "550 5.7.1 Message rejected by policy"
    day_of_stories(db, 3)
    edition_id = send_now(client, world_news)
    wait_until_complete(engine_for(settings.effective_database_url), edition_id)
    page = client.get(f"/admin/editions/{edition_id}")
    assert readers[1] in page.text and "5.7.1 Message rejected by policy" in page.text and ">550<" in page.text
    [failure] = client.get(f"/api/admin/editions/{edition_id}/failures").json()
    assert (failure["email"], failure["smtp_code"], failure["failure_kind"]) == (readers[1], 550, "policy")
    assert client.get(f"/api/admin/editions/{edition_id}").json()["failed_by_kind"] == {"policy": 1}

    mailbox.reply_for.clear()  # the relay's policy was fixed
    answer = post(client, f"/admin/editions/{edition_id}/retry", {}, f"/admin/editions/{edition_id}")
    assert answer.status_code == 303
    assert wait_for_progress(client, edition_id)["fraction"] == 1.0
    mailbox.wait_for(readers[1])
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == DeliveryStatus.failed)) == 0
    assert audited(db)[-1] == ("ann@example.org", "edition.retry_failed", str(edition_id))


def test_a_viewer_reads_figures_and_previews_but_may_not_act(client, db, world_news, settings):
    add_readers(engine_for(settings.effective_database_url), world_news.id, 2)
    day_of_stories(db, 3)
    make_admin(db, "viewer@example.org", AdminRole.viewer)
    client.app.state.start_drains = lambda edition_id, count: None
    signed_in(client, db)  # ann, the admin, starts it
    edition_id = send_now(client, world_news)
    client.cookies.clear()
    client.cookies.set("nl_admin", open_browser_session(db, "viewer@example.org"))

    page = client.get(f"/admin/editions/{edition_id}")
    assert page.status_code == 200 and "Send test" not in page.text and "Pause" not in page.text
    assert client.get(f"/admin/editions/{edition_id}/preview.html").status_code == 200
    assert client.get(f"/api/admin/editions/{edition_id}").json()["planned"] == 2
    assert client.get(f"/api/admin/editions/{edition_id}/progress").status_code == 200
    assert client.get("/api/admin/editions").status_code == 200
    assert client.get(f"/api/admin/editions/{edition_id}/failures").status_code == 403, "addresses: admins only"
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    for verb in ("pause", "cancel", "retry"):
        assert (
            client.post(
                f"/admin/editions/{edition_id}/{verb}", data={"csrf_token": csrf}, follow_redirects=False
            ).status_code
            == 403
        )
        assert (
            client.post(f"/api/admin/editions/{edition_id}/{verb}", headers={"X-CSRF-Token": csrf}).status_code == 403
        )
    assert (
        client.post(
            "/api/admin/lists/world-news/send-test", json={"address": "x@example.org"}, headers={"X-CSRF-Token": csrf}
        ).status_code
        == 403
    )
    db.expire_all()
    assert db.get(Edition, edition_id).send_status == EditionStatus.sending


def test_the_api_acts_with_a_token_and_answers_documented_errors(client, db, world_news, mailbox, settings):
    token = api_tokens.create_token(db, name="ops bot", role=AdminRole.admin, created_by="test").secret
    db.commit()
    auth = {"Authorization": f"Bearer {token}"}
    client.app.state.start_drains = lambda edition_id, count: None
    add_readers(engine_for(settings.effective_database_url), world_news.id, 2)
    assert client.post("/api/admin/lists/world-news/send-now", json={}, headers=auth).status_code == 422, (
        "no stories yet: nothing to send"
    )
    day_of_stories(db, 3)
    started = client.post("/api/admin/lists/world-news/send-now", json={"date": today(world_news)}, headers=auth)
    assert started.status_code == 200 and started.json()["planned"] == 2
    edition_id = started.json()["edition_id"]
    paused = client.post(f"/api/admin/editions/{edition_id}/pause", headers=auth).json()
    assert paused["send_status"] == "paused"
    cancelled = client.post(f"/api/admin/editions/{edition_id}/cancel", headers=auth).json()
    assert (cancelled["send_status"], cancelled["affected"]) == ("cancelled", 2)
    assert [e["edition_id"] for e in client.get("/api/admin/editions", headers=auth).json()] == [edition_id]
    tested = client.post(
        "/api/admin/lists/world-news/send-test",
        headers=auth,
        json={"address": "desk@example.org", "date": today(world_news)},
    )
    assert tested.status_code == 200 and tested.json()["sent_to"] == "desk@example.org"
    mailbox.wait_for("desk@example.org")

    assert client.post("/api/admin/editions/999999/pause", headers=auth).status_code == 404
    assert client.get("/api/admin/editions/999999/progress", headers=auth).status_code == 404
    assert client.post("/api/admin/lists/no-such-list/send-now", json={}, headers=auth).status_code == 404
    bad = client.post("/api/admin/lists/world-news/send-test", json={"address": "nobody"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_address"
    far = client.post("/api/admin/lists/world-news/send-now", json={"date": "0001-01-01"}, headers=auth)
    assert far.status_code == 422 and "too far" in far.json()["detail"]
    assert [action for actor, action, _ in audited(db)] == [
        "edition.send_now",
        "edition.pause",
        "edition.cancel",
        "edition.send_test",
    ]
    assert {actor for actor, _, _ in audited(db)} == {"token:ops bot"}


def test_the_cli_watches_a_send_until_every_reader_is_done(db, world_news, mailbox, settings, celery_worker):
    from typer.testing import CliRunner

    from service.cli import app as cli_app

    readers = add_readers(engine_for(settings.effective_database_url), world_news.id, 8, prefix="watched")
    day_of_stories(db, 3)
    result = CliRunner().invoke(
        cli_app, ["editions", "send", "--list", "world-news", "--date", today(world_news), "--watch"]
    )
    assert result.exit_code == 0, result.output
    assert "8 readers planned" in result.output, "the usual first line stays"
    assert re.search(r"edition \d+ complete: 8 sent, 0 failed, 0 skipped of 8 planned", result.output)
    assert sorted(r for m in mailbox.received for r in m.rcpt_tos) == sorted(readers)
