"""Data rights: a reader's data as JSON (reader and admin), and erasure that keeps the figures and never mails again."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service import tasks
from service.admin.models import AdminRole, AuditEntry, ImportStatus
from service.core.addresses import address_hash
from service.core.config import REPO_ROOT
from service.core.db import engine_for
from service.delivery import actions
from service.models import ConsentEvent, Delivery, DeliveryStatus, Subscriber, Subscription, Suppression, utcnow
from service.ops.monitoring.figures import figures_for
from service.readers.subscribers.jobs import create_import_job, get_import_job
from tests.support.admin import csrf_of, signed_in
from tests.support.apps import shared_app
from tests.support.edition_stories import add_story, day_of_stories
from tests.support.readers import wait_until_complete
from tests.support.web import confirmed_reader, csrf_from, link_path, statuses, text_part

TOKEN = "test-admin-token-0123456789abcdefghijklmn"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EMAIL = "Ada.Reader@Example.com"
STORED = EMAIL.lower()
OTHER = "other.reader@example.com"
BIN = Path(sys.executable).parent


@pytest.fixture
def app(settings, celery_worker, db, mailbox):
    """The real app with an admin token; its emails go through the real worker to the real SMTP server."""
    with TestClient(shared_app(settings.model_copy(update={"admin_token": TOKEN}))) as client:
        yield client


def sent_edition(db, settings, world_news) -> int:
    """Today's edition, sent by the worker to every confirmed reader; its id."""
    day_of_stories(db, 2)
    started = actions.send_now(db, settings, world_news, utcnow().date(), tasks.start_drains)
    assert started is not None
    wait_until_complete(engine_for(settings.effective_database_url), started.edition.id)
    return started.edition.id


def subscriber_id(db, email: str) -> int | None:
    """The stored reader's id, read afresh."""
    db.expire_all()
    found = db.scalar(select(Subscriber.id).where(Subscriber.email == email))
    db.commit()
    return found


def audit_of(db, action: str) -> list[AuditEntry]:
    """Audit entries of one kind, oldest first."""
    db.expire_all()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def assert_export_of(data: dict, email: str) -> None:
    """The document's shape: profile, consent record with its history, deliveries with outcome, suppression."""
    assert data["format"] == "newsletter-subscriber-data/1" and data["exported_at"].endswith("+00:00")
    assert data["profile"]["email"] == email and data["profile"]["name"] == "Ada"
    [subscription] = data["subscriptions"]
    assert subscription["list_slug"] == "world-news" and subscription["status"] == "confirmed"
    assert subscription["consent_text_version"] and subscription["confirmed_at"]
    assert [e["action"] for e in subscription["events"]][:2] == ["requested", "confirmed"]
    assert all(e["at"].endswith("+00:00") for e in subscription["events"])
    [delivery] = data["deliveries"]
    assert delivery["status"] == "sent" and delivery["smtp_code"] == 250 and delivery["sent_at"]
    assert data["suppression"] == {"suppressed": False, "reason": None, "since": None}
    assert data["deliveries_kept"].startswith("the last 90 days: older deliveries are kept only as")  # retention


def emailed_data_link(app, mailbox, preferences: str) -> str:
    """Press "Email me a link" on the preferences page; the path of the link the worker mailed to the reader."""
    page = app.get(preferences)
    assert f'action="{preferences}/data-link"' in page.text and "Email me a link to download or delete" in page.text
    before = len(mailbox.messages_to(STORED))
    asked = app.post(f"{preferences}/data-link", data={"csrf_token": csrf_from(app, preferences)})
    assert asked.status_code == 200 and f"We have sent a link to {STORED}" in asked.text, asked.text
    mail = mailbox.wait_for(STORED, count=before + 1)[before].message
    assert mail["Subject"].startswith("Your data at ") and "works for 60 minutes" in text_part(mail)
    return link_path(mail, "my-data")


@pytest.mark.sqlite_twin  # issue 20: storage on both databases
def test_a_reader_downloads_their_data_through_a_link_emailed_for_the_hour(app, db, settings, world_news, mailbox):
    _, welcome = confirmed_reader(app, mailbox, EMAIL, name="Ada")
    sent_edition(db, settings, world_news)
    preferences = link_path(welcome, "preferences")
    for old in (f"{preferences}/data", f"{preferences}/erase"):  # what every forwarded email used to open
        assert app.get(old).status_code == 404, old
    assert "/data" not in app.get(preferences).text.replace("/data-link", "")

    data = emailed_data_link(app, mailbox, preferences)
    page = app.get(data)
    assert page.status_code == 200 and f'href="{data}/download"' in page.text and "Delete my data for good" in page.text
    answer = app.get(f"{data}/download")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.headers["cache-control"] == "no-store" and page.headers["cache-control"] == "no-store"
    assert_export_of(answer.json(), STORED)
    [entry] = audit_of(db, "subscriber.export_data")
    assert entry.object_id == str(subscriber_id(db, STORED)) and STORED not in json.dumps(entry.details)
    assert entry.actor == "reader (data link)"

    assert app.get(f"{data[:-3]}xyz/download").status_code in (400, 410), "a forged link shows nothing"
    assert app.get(f"/my-data/{preferences.rsplit('/', 1)[1]}").status_code == 400, "a preferences token is no key"
    hour_old = an_hour_old_data_token(settings.secret_key, subscriber_id(db, STORED))
    for path in (f"/my-data/{hour_old}", f"/my-data/{hour_old}/download"):
        expired = app.get(path)
        assert expired.status_code == 410 and "works for an hour" in expired.text, path
    assert len(audit_of(db, "subscriber.export_data")) == 1


def test_asking_for_data_links_is_limited_per_mailbox(app, db, world_news, mailbox):
    _, welcome = confirmed_reader(app, mailbox, EMAIL, name="Ada")
    preferences = link_path(welcome, "preferences")
    for _ in range(2):  # SUBSCRIBE_RESEND_LIMIT: 2/hour
        emailed_data_link(app, mailbox, preferences)
    refused = app.post(f"{preferences}/data-link", data={"csrf_token": csrf_from(app, preferences)})
    assert refused.status_code == 429 and "We have just sent you a link" in refused.text
    app.cookies.clear()
    assert app.post(f"{preferences}/data-link", data={"csrf_token": "forged"}).status_code == 403


def an_hour_old_data_token(secret_key: str, reader_id: int) -> str:
    """A data link signed 61 minutes ago, with the service's own salt."""
    import time

    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:  # itsdangerous' hook for the signing time
            return int(time.time()) - 3660

    return URLSafeTimedSerializer(secret_key, salt="newsletter.data", signer=Earlier).dumps({"s": reader_id})


def test_an_admin_downloads_any_readers_data_from_the_page_the_api_and_the_cli(
    app, db, settings, world_news, mailbox, service_env, tmp_path
):
    confirmed_reader(app, mailbox, EMAIL, name="Ada")
    sent_edition(db, settings, world_news)
    reader_id = subscriber_id(db, STORED)

    api = app.get(f"/api/admin/subscribers/{reader_id}/data", headers=AUTH)
    assert api.status_code == 200 and api.headers["content-disposition"].startswith("attachment;")
    assert_export_of(api.json(), STORED)
    assert app.get("/api/admin/subscribers/999999/data", headers=AUTH).status_code == 404

    signed_in(app, db)
    page = app.get(f"/admin/subscribers/{reader_id}")
    assert f'href="/admin/subscribers/{reader_id}/data"' in page.text and "Erase personal data" in page.text
    ui = app.get(f"/admin/subscribers/{reader_id}/data")
    assert ui.status_code == 200 and ui.json()["profile"]["email"] == STORED
    assert [e.actor for e in audit_of(db, "subscriber.export_data")][1:] == ["ann@example.org"]

    out = tmp_path / "ada.json"
    cli = subprocess.run(
        [str(BIN / "newsletter"), "subscribers", "export-data", EMAIL, "-o", str(out)],
        cwd=REPO_ROOT,
        env={**service_env, "PATH": str(BIN)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    assert_export_of(json.loads(out.read_text(encoding="utf-8")), STORED)


def test_a_viewer_can_neither_download_nor_erase(settings, db, world_news):
    with TestClient(shared_app(settings), follow_redirects=False) as viewer:
        signed_in(viewer, db, email="vic@example.org", role=AdminRole.viewer)
        csrf = csrf_of(viewer, "/admin/lists")
        assert viewer.get("/admin/subscribers/1/data").status_code == 403
        assert viewer.get("/api/admin/subscribers/1/data").status_code == 403
        assert viewer.post("/admin/subscribers/1/erase", data={"csrf_token": csrf}).status_code == 403
        assert viewer.post("/api/admin/subscribers/1/erase", headers={"X-CSRF-Token": csrf}).status_code == 403


def assert_erased(db, reader_id: int, edition_id: int, figures_before) -> None:
    """Nothing personal left; the ledger row kept without the reader, the figures as they were; a hashed block."""
    db.expire_all()
    assert db.get(Subscriber, reader_id) is None
    assert db.scalar(select(func.count()).select_from(Subscription).where(Subscription.subscriber_id == reader_id)) == 0
    assert db.scalar(select(func.count()).select_from(ConsentEvent)) == 0, "the only reader's consent history went"
    [row] = db.scalars(select(Delivery).where(Delivery.edition_id == edition_id))
    assert row.subscriber_id is None and row.status == DeliveryStatus.sent and row.smtp_code == 250
    assert row.smtp_reply is None and row.message_id is None and row.last_error is None
    after = figures_for(db, [edition_id])[edition_id]
    assert (after.planned, after.sent, after.failed) == (figures_before.planned, figures_before.sent, 0)
    [suppression] = db.scalars(select(Suppression))
    assert suppression.email_hash == address_hash(STORED) and suppression.reason == "erased"
    [entry] = audit_of(db, "subscriber.erase")
    assert entry.object_id == str(reader_id) and entry.details["lists"] == ["world-news"]
    assert STORED not in json.dumps(entry.details) + entry.object_id
    db.commit()


@pytest.mark.parametrize("pre_confirmed", [False, True], ids=["asks-to-confirm", "pre-confirmed"])
def test_erasure_then_a_csv_import_of_the_address_adds_and_mails_nothing(
    app, db, settings, world_news, mailbox, pre_confirmed
):
    confirmed_reader(app, mailbox, EMAIL, name="Ada")
    edition_id = sent_edition(db, settings, world_news)
    reader_id = subscriber_id(db, STORED)
    before = figures_for(db, [edition_id])[edition_id]
    assert (before.planned, before.sent) == (1, 1)

    erased = app.post(f"/api/admin/subscribers/{reader_id}/erase", headers=AUTH)
    assert erased.status_code == 200, erased.text
    assert erased.json() == {"erased": reader_id, "lists": ["world-news"], "deliveries_kept": 1}
    assert_erased(db, reader_id, edition_id, before)
    assert app.post(f"/api/admin/subscribers/{reader_id}/erase", headers=AUTH).status_code == 404
    mailbox.clear()

    csv = f"email,name\n{EMAIL.upper()},Ada Again\n{OTHER},Other\n".encode()
    job = create_import_job(
        db,
        settings,
        list_slug="world-news",
        filename="old-tool.csv",
        source=io.BytesIO(csv),
        confirmed=pre_confirmed,
        reason="moved from our old tool" if pre_confirmed else "",
        created_by="ann@example.org",
    )
    tasks.import_subscribers.delay(job.id)
    job = wait_for_import(db, job.id)
    assert (job.added, job.suppressed) == (1, 1), "the erased address is left out"
    assert subscriber_id(db, STORED) is None and statuses(db, STORED) == {}
    if not pre_confirmed:
        mailbox.wait_for(OTHER)  # the new address is asked to confirm...
    mailbox.assert_nothing_for(STORED)  # ...and the erased one is not

    add_story(db, "A second day's story")
    tomorrow = actions.send_now(db, settings, world_news, next_day(), tasks.start_drains)
    assert tomorrow is not None
    wait_until_complete(engine_for(settings.effective_database_url), tomorrow.edition.id)
    assert tomorrow.planned == (1 if pre_confirmed else 0)
    if pre_confirmed:
        mailbox.wait_for(OTHER)
    mailbox.assert_nothing_for(STORED)


def next_day():
    """Tomorrow's date, for a second edition of the list."""
    from datetime import timedelta

    return utcnow().date() + timedelta(days=1)


def wait_for_import(db, job_id: int, timeout: float = 30.0):
    """Poll the job row as the progress bar does."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.expire_all()
        job = get_import_job(db, job_id)
        db.commit()
        if job.status in (ImportStatus.done, ImportStatus.failed):
            assert job.status == ImportStatus.done, job.error
            return job
        time.sleep(0.1)
    raise AssertionError(f"import job {job_id} did not finish")


@pytest.mark.sqlite_twin  # issue 20: storage on both databases
def test_a_reader_deletes_their_data_from_the_emailed_link_after_a_confirm_step(app, db, world_news, mailbox):
    _, welcome = confirmed_reader(app, mailbox, EMAIL, name="Ada")
    preferences = link_path(welcome, "preferences")
    data = emailed_data_link(app, mailbox, preferences)
    confirm = app.get(data)
    assert confirm.status_code == 200 and "Delete my data for good" in confirm.text
    assert f'action="{data}/erase"' in confirm.text
    assert subscriber_id(db, STORED) is not None, "showing the confirm step deletes nothing"
    assert app.post(f"{preferences}/erase", data={"csrf_token": csrf_from(app, preferences)}).status_code in (404, 405)
    assert subscriber_id(db, STORED) is not None, "the preferences link alone deletes nothing"

    app.cookies.clear()
    forged = app.post(f"{data}/erase", data={"csrf_token": "forged"})
    assert forged.status_code == 403 and subscriber_id(db, STORED) is not None, "CSRF-protected"

    done = app.post(f"{data}/erase", data={"csrf_token": csrf_from(app, data)})
    assert done.status_code == 200 and "Your data is deleted" in done.text
    assert subscriber_id(db, STORED) is None
    [entry] = audit_of(db, "subscriber.erase")
    assert entry.actor == "reader (data link)" and STORED not in json.dumps(entry.details)
    assert app.get(preferences).status_code in (400, 410), "the old links name nobody now"
    assert app.get(data).status_code in (400, 410)

    mailbox.clear()
    again = app.post(
        "/subscribe",
        data={"csrf_token": csrf_from(app, "/subscribe"), "email": EMAIL, "list": ["world-news"], "timezone": "UTC"},
    )
    assert again.status_code == 200
    mailbox.assert_nothing_for(STORED)


def test_the_admin_page_and_the_cli_erase_too(app, db, settings, world_news, mailbox, service_env):
    confirmed_reader(app, mailbox, EMAIL, name="Ada")
    confirmed_reader(app, mailbox, OTHER)
    signed_in(app, db)
    reader_id = subscriber_id(db, STORED)
    csrf = csrf_of(app, f"/admin/subscribers/{reader_id}")
    answer = app.post(f"/admin/subscribers/{reader_id}/erase", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303 and subscriber_id(db, STORED) is None
    assert audit_of(db, "subscriber.erase")[0].actor == "ann@example.org"

    env = {**service_env, "PATH": str(BIN)}
    refused = subprocess.run(
        [str(BIN / "newsletter"), "subscribers", "erase", OTHER],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "--yes" in refused.stderr and subscriber_id(db, OTHER) is not None
    done = subprocess.run(
        [str(BIN / "newsletter"), "subscribers", "erase", OTHER, "--yes"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert OTHER not in done.stdout and subscriber_id(db, OTHER) is None
    assert {s.reason for s in db.scalars(select(Suppression))} == {"erased"}
    db.commit()


def test_an_unsent_delivery_of_an_erased_reader_is_skipped_and_still_counted(app, db, settings, world_news, mailbox):
    confirmed_reader(app, mailbox, EMAIL, name="Ada")
    confirmed_reader(app, mailbox, OTHER)
    day_of_stories(db, 2)
    started = actions.send_now(db, settings, world_news, utcnow().date(), lambda edition_id, count: None)
    assert started is not None and started.planned == 2
    mailbox.clear()
    assert app.post(f"/api/admin/subscribers/{subscriber_id(db, STORED)}/erase", headers=AUTH).status_code == 200
    tasks.start_drains(started.edition.id, settings.send_parallelism)
    wait_until_complete(engine_for(settings.effective_database_url), started.edition.id)
    mailbox.wait_for(OTHER)
    mailbox.assert_nothing_for(STORED)
    db.expire_all()
    figures = figures_for(db, [started.edition.id])[started.edition.id]
    assert (figures.planned, figures.sent, figures.skipped) == (2, 1, 1)
    db.commit()
