"""The bounce inputs: the HTTP API behind its token, the CLI fed from an MTA pipe, and VERP end to end."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.bounces.models import Bounce
from service.mail import suppressions
from service.models import utcnow
from tests.support.apps import shared_app
from tests.support.bounce_reports import _reader, dsn, proven
from tests.support.readers import add_readers

pytest_plugins = ["tests.support.bounce_cli"]


TOKEN = "bounce-api-token-0123456789abcdef"


def test_the_api_needs_the_bounce_token(settings, db, world_news):
    reader = _reader(db, world_news, "api-gone@example.org")
    app = shared_app(settings.model_copy(update={"bounce_api_token": TOKEN}))
    body = dsn("api-gone@example.org", "5.1.1", to=proven(settings, reader))
    with TestClient(app) as client:
        headers = {"Content-Type": "message/rfc822"}
        assert client.post("/api/bounces", content=body, headers=headers).status_code == 401
        wrong = client.post("/api/bounces", content=body, headers={**headers, "Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"] == "not_authorised"
        ok = client.post("/api/bounces", content=body, headers={**headers, "Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 202 and ok.json()["reports"][0]["kind"] == "hard"
        assert "/api/bounces" not in client.get("/api/openapi.json").json()["paths"]
        victim = _reader(db, world_news, "api-victim@example.org")
        forged = client.post(  # the bounce token proves the caller, not the reader a report names
            "/api/bounces",
            content=dsn(victim.email, "5.1.1"),
            headers={**headers, "Authorization": f"Bearer {TOKEN}"},
        )
        assert forged.status_code == 202
        assert forged.json()["reports"][0]["action"] == "held for review: no token or message-id"
    db.expire_all()
    assert suppressions.is_suppressed(db, "api-gone@example.org")
    assert not suppressions.is_suppressed(db, victim.email), "a forged report through the API changes nobody"
    with TestClient(shared_app(settings)) as client:  # no BOUNCE_API_TOKEN configured: nobody gets in
        assert client.post("/api/bounces", content=body, headers={"Authorization": "Bearer "}).status_code == 401


def test_cli_ingest_from_an_mta_pipe_and_list(newsletter, db, settings, world_news):
    reader = _reader(db, world_news, "cli-gone@example.org")
    db.commit()
    done = newsletter(
        "bounces", "ingest", "--envelope-to", proven(settings, reader), stdin=dsn("cli-gone@example.org", "5.1.1")
    )
    assert done.returncode == 0, done.stderr
    assert b"hard cli-gone@example.org 5.1.1 matched by verp: suppressed: hard bounce 5.1.1" in done.stdout
    victim = _reader(db, world_news, "cli-victim@example.org")
    db.commit()
    forged = newsletter("bounces", "ingest", stdin=dsn(victim.email, "5.1.1"))  # no token: the MTA pipe holds it
    assert forged.returncode == 0 and b"held for review: no token or message-id" in forged.stdout, forged.stdout
    db.expire_all()
    assert not suppressions.is_suppressed(db, victim.email)
    empty = newsletter("bounces", "ingest", stdin=b"")
    assert empty.returncode == 2 and empty.stderr.decode().count("\n") == 1 and b"no message on stdin" in empty.stderr
    listed = newsletter("bounces", "list")
    assert listed.returncode == 0 and b"5.1.1" in listed.stdout
    spf = dsn(victim.email, "5.7.1", diagnostic="smtp; 550 5.7.1 SPF check failed", to=proven(settings, victim))
    assert b"policy cli-victim@example.org 5.7.1" in newsletter("bounces", "ingest", stdin=spf).stdout
    refusals = newsletter("bounces", "refusals")  # our setup refused: shown to ops, per edition and domain
    assert refusals.returncode == 0 and b"example.org" in refusals.stdout and b"5.7.1" in refusals.stdout
    assert b"these readers were not suppressed" in refusals.stdout and not suppressions.is_suppressed(db, victim.email)
    shown = newsletter("subscribers", "show", "cli-gone@example.org")
    assert b"bounce score: 0" in shown.stdout and b"suppressed: hard bounce 5.1.1" in shown.stdout


@pytest.mark.processes
def test_verp_end_to_end(db, settings, world_news, celery_worker, mailbox, newsletter):
    """Send an edition, take one reader's VERP envelope, feed a DSN for it back in: suppressed, figures updated."""
    from service.core.db import engine_for
    from service.delivery.schedule import send_now
    from service.ops.monitoring.figures import edition_figures
    from service.tasks import start_drains
    from tests.support.edition_stories import day_of_stories
    from tests.support.readers import wait_until_complete

    engine = engine_for(settings.effective_database_url)
    readers = add_readers(engine, world_news.id, 6)
    day_of_stories(db)
    edition, _ = send_now(settings, db, world_news, utcnow().date(), utcnow())
    start_drains(edition.id, 1)
    wait_until_complete(engine, edition.id)
    senders = {m.rcpt_tos[0]: m.mail_from for m in mailbox.received}
    assert set(senders) == set(readers) and len(set(senders.values())) == len(readers), "one envelope each"
    assert all(s.startswith("bounces+") and s.endswith("@news.example.org") for s in senders.values())
    victim = readers[2]
    # the remote MTA writes the DSN to the envelope sender; the bounce names the recipient only in a forwarded form
    done = newsletter(
        "bounces", "ingest", stdin=dsn("forwarded-alias@example.net", "5.1.1", to=senders[victim]), pipe=True
    )
    assert done.returncode == 0 and b"matched by verp" in done.stdout, done.stdout + done.stderr
    db.expire_all()
    assert suppressions.lookup(db, victim).reason == "hard bounce 5.1.1"
    assert not suppressions.is_suppressed(db, readers[3])
    figures = edition_figures(db, edition.id)
    assert (figures.bounced, figures.complained) == (1, 0)
    (bounce,) = db.scalars(select(Bounce))
    assert bounce.edition_id == edition.id and bounce.matched_by == "verp"
