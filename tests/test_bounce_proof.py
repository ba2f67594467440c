"""Only proven reports change a reader (issue 20): forged DSNs and ARF reports, bad tokens, held for review."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.bounce_intake.process import ingest
from service.bounces.models import Bounce
from service.bounces.verp import Verp, signed_message_id
from service.mail import suppressions
from service.models import SubscriptionStatus
from service.ops.monitoring.metrics import render
from tests.support.admin import signed_in
from tests.support.apps import shared_app
from tests.support.bounce_reports import _reader, arf, dsn, proven

pytest_plugins = ["tests.support.bounce_cli"]  # its `newsletter` fixture runs the CLI


def _status(db, reader) -> set:
    """The reader's subscription states, fresh from the database."""
    db.expire_all()
    return {s.status for s in db.merge(reader).subscriptions}


@pytest.mark.processes  # runs the newsletter CLI as its own process
def test_forged_reports_for_another_reader_change_nothing_and_are_held_for_review(db, settings, world_news, newsletter):
    victim = _reader(db, world_news, "victim@example.org")
    attacker = _reader(db, world_news, "attacker@example.net")
    domain = "news.example.org"
    token = Verp(settings).for_delivery(1).split("+", 1)[1].split("@")[0]
    forged = {
        "no token": dsn(victim.email, "5.1.1"),
        "bad token": dsn(victim.email, "5.1.1", to=f"bounces+{token[:-2]}aa@news.example.org"),
        "arf, old unsigned Message-ID": arf(victim.email, message_id=f"<edition-1.reader-{victim.id}@{domain}>"),
        "arf, forged MAC": arf(victim.email, message_id=f"<edition-1.reader-{victim.id}.aaaaaaaa@{domain}>"),
        "arf, the attacker's own Message-ID and both names": arf(
            victim.email, attacker.email, message_id=signed_message_id(settings, 1, attacker.id)
        ),
    }
    outcomes = {name: ingest(db, raw, settings=settings, source="cli") for name, raw in forged.items()}
    db.commit()
    assert not suppressions.is_suppressed(db, victim.email) and _status(db, victim) == {SubscriptionStatus.confirmed}
    assert [t.action for t in outcomes["no token"]] == ["held for review: no token or message-id"]
    assert [t.action for t in outcomes["bad token"]] == ["held for review: bad verp token"]
    assert outcomes["arf, forged MAC"][0].action == "held for review: no token or message-id"
    both = {t.recipient: t.action for t in outcomes["arf, the attacker's own Message-ID and both names"]}
    assert both == {
        victim.email: "held for review: names another reader",
        attacker.email: "unsubscribed and suppressed: complaint abuse",
    }, "it proves the attacker only"
    assert _status(db, attacker) == {SubscriptionStatus.unsubscribed}

    # a forger's own token acts on the forger, whatever address the report writes
    ingest(
        db,
        dsn(victim.email, "5.1.1", diagnostic="smtp; 550 5.1.1 user unknown", to=proven(settings, attacker)),
        settings=settings,
        source="api",
    )
    db.commit()
    assert not suppressions.is_suppressed(db, victim.email)

    held = list(db.scalars(select(Bounce).where(Bounce.review.is_not(None))))
    assert len(held) == 5 and all(b.subscriber_id is None and b.raw for b in held)
    text = render(settings).decode()
    assert 'newsletter_bounces_held_total{reason="no token or message-id"} 3.0' in text
    assert 'newsletter_bounces_held_total{reason="bad verp token"} 1.0' in text

    listed = newsletter("bounces", "review")
    assert listed.returncode == 0 and listed.stdout.count(b"held") >= 1 and b"bad verp token" in listed.stdout
    one = newsletter("bounces", "review", "--show", str(held[0].id))
    assert one.returncode == 0 and b"Undelivered Mail Returned to Sender" in one.stdout
    missing = newsletter("bounces", "review", "--show", "999999")
    assert missing.returncode == 2 and missing.stderr.decode().count("\n") == 1

    with TestClient(shared_app(settings)) as client:
        signed_in(client, db)
        api = client.get("/api/admin/bounces/held", params={"limit": 2})
        assert api.status_code == 200 and len(api.json()["rows"]) == 2 and api.json()["next_before"]
        assert client.get(f"/api/admin/bounces/held/{held[1].id}").json()["review"] == "bad verp token"
        page = client.get("/admin/suppressions")
        assert page.status_code == 200 and "Bounce reports held for review" in page.text
        assert "names another reader" in page.text and page.text.count("/admin/suppressions/held/") == 5
        assert victim.email in client.get(f"/admin/suppressions/held/{held[0].id}").text


def test_a_feedback_report_acts_on_each_proven_recipient(db, settings, world_news):
    readers = [_reader(db, world_news, f"fbl{n}@example.org") for n in range(7)]
    proven_ones = readers[1], readers[4], readers[6]
    raw = arf(*(r.email for r in readers), message_id=signed_message_id(settings, 1, readers[1].id)).replace(
        b"--F--",
        b"".join(
            b"--F\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: "
            + signed_message_id(settings, 1, r.id).encode()
            + b"\r\n\r\n"
            for r in proven_ones[1:]
        )
        + b"--F--",
    )
    taken = ingest(db, raw, settings=settings, source="imap")
    db.commit()
    assert len(taken) == 7
    for reader in readers:
        expected = SubscriptionStatus.unsubscribed if reader in proven_ones else SubscriptionStatus.confirmed
        assert _status(db, reader) == {expected}, reader.email
    assert sum(t.action.startswith("held for review") for t in taken) == 4


def test_a_real_complaint_about_a_message_we_sent_is_applied(db, settings, world_news, celery_worker, mailbox):
    """Send an edition; a feedback report quoting one reader's Message-ID (address redacted) unsubscribes that one."""
    from service.core.db import engine_for
    from service.delivery.schedule import send_now
    from service.models import utcnow
    from service.tasks import start_drains
    from tests.support.edition_stories import day_of_stories
    from tests.support.readers import add_readers, wait_until_complete

    engine = engine_for(settings.effective_database_url)
    readers = add_readers(engine, world_news.id, 3)
    day_of_stories(db)
    edition, _ = send_now(settings, db, world_news, utcnow().date(), utcnow())
    start_drains(edition.id, 1)
    wait_until_complete(engine, edition.id)
    message_id = str(next(m.message["Message-ID"] for m in mailbox.received if m.rcpt_tos == [readers[1]]))
    taken = ingest(db, arf("redacted@isp.example", message_id=message_id), settings=settings, source="api")
    db.commit()
    assert [(t.recipient, t.matched_by) for t in taken] == [(readers[1], "message-id")]
    assert suppressions.lookup(db, readers[1]).reason == "complaint abuse"
    assert not suppressions.is_suppressed(db, readers[0]) and not suppressions.is_suppressed(db, readers[2])
    (bounce,) = db.scalars(select(Bounce))
    assert bounce.edition_id == edition.id and bounce.delivery_id is not None
