"""Admin subscriber pages and calls: search and pages, a reader's history, unsubscribe, suppress, delete, viewers."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from service.admin.models import AdminRole
from service.core.db import engine_for
from service.mail.suppressions import is_suppressed
from service.models import Delivery, Edition, Subscriber, utcnow
from service.readers.subscriptions.consent import ConsentContext
from service.readers.subscriptions.joining import add_subscriptions
from tests.support.admin import audit_of, csrf_of, signed_in, wait_done
from tests.support.apps import shared_app
from tests.support.readers import add_readers, pause

NEXT = re.compile(r'href="(/admin/subscribers\?[^"]*after=\d+[^"]*)"')


def emails_on(page_text: str) -> list[str]:
    """The addresses a result page lists."""
    return re.findall(r'href="/admin/subscribers/\d+">([^<]+)</a>', page_text)


def reader_with_history(db, world_news) -> Subscriber:
    """A confirmed reader who signed up on the form, paused, and got one edition sent and one refused."""
    consent = ConsentContext(source="form", ip="203.0.113.7", user_agent="Firefox/140 test", consent_text_version="v3")
    result = add_subscriptions(
        db, email="paula@example.org", lists=[world_news], consent=consent, name="Paula", confirmed=True
    )
    db.commit()
    subscriber = db.get(Subscriber, result.subscriber_id)
    subscriber.paused_until = utcnow() + timedelta(days=7)
    now = utcnow()
    for day, status, code, reply in (
        (date(2026, 3, 9), "sent", 250, "2.0.0 Ok: queued as 4F2A"),
        (date(2026, 3, 10), "failed", 550, "5.1.1 <paula@example.org>: mailbox unavailable"),
    ):
        edition = Edition(
            list_id=world_news.id,
            edition_date=day,
            window_start=now,
            window_end=now,
            subject=f"News of {day}",
            placeholder_key=f"k{day:%d}",
            html="<p>x</p>",
            text="x",
            send_status="complete",
        )
        db.add(edition)
        db.flush()
        db.add(
            Delivery(
                edition_id=edition.id,
                subscriber_id=subscriber.id,
                status=status,
                not_before=now,
                smtp_code=code,
                smtp_reply=reply,
                sent_at=now if status == "sent" else None,
                failure_kind="hard_bounce" if status == "failed" else None,
            )
        )
    db.commit()
    return subscriber


def test_search_filters_and_keyset_pages(client, db, settings, world_news):
    signed_in(client, db)
    engine = engine_for(settings.effective_database_url)
    add_readers(engine, world_news.id, 60, prefix="reader")
    pause(engine, ["reader7@example.org"])
    add_readers(engine, world_news.id, 3, prefix="waiting", status="unconfirmed")

    first = client.get("/admin/subscribers", params={"list": "world-news", "status": "confirmed"})
    assert first.status_code == 200
    page_one = emails_on(first.text)
    assert len(page_one) == 50 and "reader7@example.org" not in page_one and "waiting0@example.org" not in page_one
    next_url = NEXT.search(first.text).group(1).replace("&amp;", "&")
    page_two = emails_on(client.get(next_url).text)
    assert len(page_two) == 9 and not set(page_one) & set(page_two)
    assert NEXT.search(client.get(next_url).text) is None

    paused = client.get("/admin/subscribers", params={"status": "paused"}).text
    assert emails_on(paused) == ["reader7@example.org"] and "status-paused" in paused
    assert emails_on(client.get("/admin/subscribers", params={"q": "WAITING1"}).text) == ["waiting1@example.org"]
    found = client.get("/api/admin/subscribers", params={"q": "reader1", "limit": 5}).json()
    assert len(found["rows"]) == 5 and found["next_after"] is not None
    assert all("reader1" in row["email"] for row in found["rows"])
    rest = client.get("/api/admin/subscribers", params={"q": "reader1", "after": found["next_after"]}).json()
    assert len(found["rows"]) + len(rest["rows"]) == 11 and rest["next_after"] is None  # reader1, reader10..19
    assert client.get("/api/admin/subscribers", params={"status": "bogus"}).status_code == 422


def test_the_subscriber_page_shows_consent_deliveries_and_the_pause(client, db, world_news):
    signed_in(client, db)
    reader = reader_with_history(db, world_news)
    page = client.get(f"/admin/subscribers/{reader.id}").text
    for shown in (
        "paula@example.org",
        "203.0.113.7",
        "Firefox/140 test",
        "v3",
        "confirmed",
        "status-paused",
        "2.0.0 Ok: queued as 4F2A",
        "550",
        "5.1.1 &lt;paula@example.org&gt;: mailbox unavailable",
        "hard_bounce",
        "not suppressed",
    ):
        assert shown in page, shown
    data = client.get(f"/api/admin/subscribers/{reader.id}").json()
    assert data["subscriptions"][0]["status"] == "paused" and data["subscriptions"][0]["ip"] == "203.0.113.7"
    assert [d["smtp_code"] for d in data["deliveries"]] == [550, 250]
    assert client.get("/api/admin/subscribers/999999").status_code == 404


def test_unsubscribe_suppress_and_delete_from_the_ui_are_audited_with_the_admin(client, db, world_news):
    signed_in(client, db)
    reader = reader_with_history(db, world_news)
    reader_id = reader.id
    csrf = csrf_of(client, f"/admin/subscribers/{reader_id}")
    answer = client.post(f"/admin/subscribers/{reader_id}/unsubscribe", data={"csrf_token": csrf, "list": ""})
    assert "Unsubscribed from world-news." in answer.text and "status-unsubscribed" in answer.text
    answer = client.post(
        f"/admin/subscribers/{reader_id}/suppress",
        data={"csrf_token": csrf, "reason": "asked by phone never to be mailed again"},
    )
    assert "Suppressed" in answer.text and "asked by phone never to be mailed again" in answer.text
    assert is_suppressed(db, "paula@example.org")
    answer = client.post(f"/admin/subscribers/{reader_id}/delete", data={"csrf_token": csrf})
    assert answer.status_code == 200 and f"Deleted subscriber {reader_id}" in answer.text
    db.expire_all()
    assert db.get(Subscriber, reader_id) is None
    for action in ("subscriber.unsubscribe", "suppression.add", "subscriber.delete"):
        [entry] = audit_of(db, action)
        assert entry.actor == "ann@example.org", action
    assert "paula@example.org" not in str(audit_of(db, "subscriber.delete")[0].details)


def test_the_api_unsubscribes_deletes_and_imports(client, db, world_news, mailbox):
    signed_in(client, db)
    reader_id = reader_with_history(db, world_news).id
    csrf = {"X-CSRF-Token": csrf_of(client, "/admin/subscribers")}
    left = client.post(f"/api/admin/subscribers/{reader_id}/unsubscribe", headers=csrf, json={"list": "world-news"})
    assert left.status_code == 200 and left.json() == {"changed": ["world-news"]}
    assert client.delete(f"/api/admin/subscribers/{reader_id}", headers=csrf).json() == {"deleted": reader_id}
    assert client.get(f"/api/admin/subscribers/{reader_id}").status_code == 404
    started = client.post(
        "/api/admin/imports",
        headers=csrf,
        data={"list": "world-news"},
        files={"file": ("api.csv", b"email\nvia.api@example.org\n", "text/csv")},
    )
    assert started.status_code == 202, started.text
    assert wait_done(client, started.json()["id"])["added"] == 1
    mailbox.wait_for("via.api@example.org")
    refused = client.post(
        "/api/admin/imports",
        headers=csrf,
        data={"list": "world-news", "confirmed": "true"},
        files={"file": ("api.csv", b"email\nx@example.org\n", "text/csv")},
    )
    assert refused.status_code == 422


@pytest.fixture
def viewer(settings, db):
    """A browser signed in as a viewer (no worker needed: every call is refused)."""
    with TestClient(shared_app(settings), follow_redirects=False) as browser:
        signed_in(browser, db, email="vic@example.org", role=AdminRole.viewer)
        yield browser


def test_a_viewer_gets_403_on_every_subscriber_screen_and_call(viewer, db, world_news):
    csrf = csrf_of(viewer, "/admin/lists")
    form = {"csrf_token": csrf, "address": "a@example.org", "reason": "r", "list": "world-news"}
    reads = [
        "/admin/subscribers",
        "/admin/subscribers/1",
        "/admin/subscribers/export?list=world-news",
        "/admin/imports",
        "/admin/imports/new",
        "/admin/imports/1",
        "/admin/imports/1/rejected.csv",
        "/admin/suppressions",
        "/api/admin/subscribers",
        "/api/admin/subscribers/1",
        "/api/admin/imports/1",
        "/api/admin/imports/1/rejected.csv",
        "/api/admin/suppressions",
    ]
    for path in reads:
        assert viewer.get(path).status_code == 403, path
    for path in (
        "/admin/subscribers/1/unsubscribe",
        "/admin/subscribers/1/suppress",
        "/admin/subscribers/1/delete",
        "/admin/subscribers/import",
        "/admin/suppressions",
        "/admin/suppressions/remove",
        "/admin/suppressions/lookup",
    ):
        assert viewer.post(path, data=form).status_code == 403, path
    headers = {"X-CSRF-Token": csrf}
    assert viewer.post("/api/admin/suppressions", headers=headers, json=form).status_code == 403
    assert viewer.request("DELETE", "/api/admin/suppressions", headers=headers, json=form).status_code == 403
    assert viewer.delete("/api/admin/subscribers/1", headers=headers).status_code == 403
    assert viewer.post("/api/admin/subscribers/1/unsubscribe", headers=headers, json={}).status_code == 403
    assert (
        viewer.post(
            "/api/admin/imports",
            headers=headers,
            data={"list": "world-news"},
            files={"file": ("a.csv", b"email\na@example.org\n", "text/csv")},
        ).status_code
        == 403
    )
