"""The admin dashboard and /api/admin/status: sends in progress, queues, workers, beat, failures, audience change."""

from __future__ import annotations

import re
import time

from service.admin.models import AdminRole
from service.core.db import engine_for
from service.delivery import actions
from service.models import utcnow
from service.ops.monitoring.checks import run_checks
from service.tasks import start_drains
from tests.support.admin import make_admin, open_browser_session, signed_in
from tests.support.edition_stories import day_of_stories
from tests.support.readers import add_readers, wait_until_complete


def stat(page: str, name: str) -> str:
    """The big number of a dashboard card, by its caption."""
    found = re.search(r'<div class="value">([^<]+)</div><div class="name">' + re.escape(name), page)
    assert found, f"no card {name!r}"
    return found.group(1)


def test_the_dashboard_shows_a_send_its_failures_and_the_service_around_it(client, db, world_news, mailbox, settings):
    signed_in(client, db)
    readers = add_readers(engine_for(settings.effective_database_url), world_news.id, 5)
    mailbox.reply_for[readers[0]] = "550 5.1.1 No such user here"
    day_of_stories(db, 3)
    started = actions.send_now(db, settings, world_news, utcnow().date(), start_drains)
    assert started is not None
    wait_until_complete(engine_for(settings.effective_database_url), started.edition.id)
    run_checks(settings, engine_for(settings.effective_database_url), utcnow())  # beat's scheduled check, run here

    began = time.monotonic()
    page = client.get("/admin")
    assert page.status_code == 200
    assert time.monotonic() - began < 5, "network probes have short timeouts"
    text = page.text
    assert f'href="/admin/editions/{started.edition.id}"' in text and "status-complete" in text
    assert "5/5 · 4 sent · 1 failed" in text, "the edition's progress bar"
    assert "5.1.1 No such user here" in text and readers[0] in text, "the last failure with its reply"
    assert int(stat(text, "workers online")) >= 1 and re.search(r"workers as pinged \d s ago", text)
    assert stat(text, f"waiting in queue <code>{settings.task_queue}</code>").isdigit()
    assert "beat has never been seen" in text and "Needs attention" in text, "problems are highlighted"
    assert re.search(r"<td>world-news</td><td class=\"num\">\+5</td>", text), "5 readers gained this week"
    again = time.monotonic()
    assert client.get("/admin").status_code == 200 and time.monotonic() - again < 1, "the snapshot is shared"


def test_the_status_api_is_the_snapshot_and_a_viewer_sees_no_reader_addresses(
    client, db, world_news, mailbox, settings
):
    readers = add_readers(engine_for(settings.effective_database_url), world_news.id, 2, prefix="gone")
    mailbox.reply_for[readers[0]] = "550 5.1.1 No such user here"
    day_of_stories(db, 3)
    started = actions.send_now(db, settings, world_news, utcnow().date(), start_drains)
    wait_until_complete(engine_for(settings.effective_database_url), started.edition.id)
    run_checks(settings, engine_for(settings.effective_database_url), utcnow())
    signed_in(client, db)
    status = client.get("/api/admin/status").json()
    assert settings.task_queue in status["queues"] and status["workers"]["consuming"]
    assert status["failures"][0]["email"] == readers[0]
    assert status["editions"][0]["edition_id"] == started.edition.id

    make_admin(db, "viewer@example.org", AdminRole.viewer)
    client.cookies.clear()
    client.cookies.set("nl_admin", open_browser_session(db, "viewer@example.org"))
    page = client.get("/admin")
    assert page.status_code == 200 and "5.1.1 No such user here" in page.text and readers[0] not in page.text
    assert "g…@example.org" in page.text
    viewed = client.get("/api/admin/status").json()
    assert viewed["failures"][0]["email"] == "g…@example.org"
