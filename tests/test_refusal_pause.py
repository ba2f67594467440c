"""Receivers refusing our sending setup (5.7.x) pause the edition, with the reason in words; resume sends the rest.

Mail goes through the real Celery worker to the real SMTP server, which starts answering Gmail's 5.7.26 SPF
refusal mid-edition; bounces come in through the real bounce processor with our VERP tokens.
"""

from __future__ import annotations

import json
import time
from collections import Counter

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.admin import audit
from service.bounce_intake.process import ingest
from service.bounces.verp import Verp
from service.core.db import engine_for
from service.delivery.leases import DeliveryLease
from service.delivery.refusal_reason import Refusal, describe, kind_of
from service.delivery.refusals import Limits, judge
from service.delivery.schedule import send_now
from service.delivery.sender import drain
from service.models import Delivery, DeliveryStatus, Edition, EditionStatus, Subscriber, utcnow
from service.tasks import start_drains
from tests.support.apps import shared_app
from tests.support.edition_stories import day_of_stories
from tests.support.readers import add_readers, wait_until_complete
from tests.test_monitoring import NoMail, _status_cli, metric

TOKEN = "test-admin-token-0123456789abcdefghijklmn"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GMAIL_SPF = (
    "550 5.7.26 The MAIL FROM domain [news.example.org] has an SPF record with a hard fail policy (-all) "
    "but it fails to pass SPF checks with the ip: [127.0.0.1]. To best protect our users from spam and "
    "phishing, the message has been blocked. https://support.google.com/mail/answer/81126 - gsmtp"
)


def _settled_pause(engine, edition_id: int, timeout: float = 60.0) -> None:
    """Wait until the edition is paused and its drain has given back what it held (no lease, nothing in sending)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            status = conn.scalar(select(Edition.send_status).where(Edition.id == edition_id))
            held = conn.scalar(
                select(func.count()).select_from(DeliveryLease).where(DeliveryLease.edition_id == edition_id)
            )
            sending = conn.scalar(
                select(func.count()).where(Delivery.edition_id == edition_id, Delivery.status == DeliveryStatus.sending)
            )
        assert status != EditionStatus.complete, "the edition went out whole: nothing paused it"
        if status == EditionStatus.paused and not held and not sending:
            return
        time.sleep(0.1)
    raise AssertionError(f"edition {edition_id} not paused and settled after {timeout} s")


def _ledger(db, edition_id: int) -> Counter:
    """Rows by (status, failure kind)."""
    db.expire_all()
    return Counter(
        {
            (status, kind): n
            for status, kind, n in db.execute(
                select(Delivery.status, Delivery.failure_kind, func.count())
                .where(Delivery.edition_id == edition_id)
                .group_by(Delivery.status, Delivery.failure_kind)
            )
        }
    )


def test_spf_refusals_mid_edition_pause_it_and_resume_sends_the_rest_once(
    db, settings, world_news, celery_worker, mailbox, output_dir
):
    # tasks at module level would fix Celery's config early
    from service.tasks import check_health, dispatch_due, sweep_deliveries

    engine = engine_for(settings.effective_database_url)
    readers = add_readers(engine, world_news.id, 400, domains=("example.org", "gmail.com"))
    refused = {reader for n, reader in enumerate(readers) if n >= 30 and reader.endswith("@gmail.com")}
    mailbox.reply_for.update(dict.fromkeys(refused, GMAIL_SPF))  # our SPF breaks after the first 30 readers
    day_of_stories(db)
    edition, planned = send_now(settings, db, world_news, utcnow().date(), utcnow())
    assert planned == 400
    start_drains(edition.id, 1)  # one drain, so the window's figures are known to the reader
    _settled_pause(engine, edition.id)

    rows = _ledger(db, edition.id)
    policy, sent = rows[(DeliveryStatus.failed, "policy")], rows[(DeliveryStatus.sent, None)]
    assert policy > 50, "paused only past the limit: more than 5% of 1,000 replies"
    assert rows[(DeliveryStatus.pending, None)] == 400 - policy - sent > 200, "paused mid-edition, mid-batch"
    reason = db.get(Edition, edition.id).pause_reason
    assert reason == f"paused: {policy} of the {policy + sent} replies so far were 5.7.26 SPF failures from gmail.com"
    (output_dir / "refusal-pause-reason.txt").write_text(reason + "\n")
    print(f"\n[refusal pause] {reason}")
    assert Counter(r for m in mailbox.received for r in m.rcpt_tos).most_common(1)[0][1] == 1

    dispatch_due.apply()  # beat's heartbeats, so `newsletter status` has nothing else to say
    sweep_deliveries.apply()  # (and a paused edition is no work for the sweeper)
    check_health.apply()  # beat's scheduled SMTP and worker checks
    status = _status_cli()
    assert status.exit_code == 1 and reason in status.output, status.output
    problems = json.loads(_status_cli("--json").output)["problems"]
    assert problems == [f"edition world-news {edition.edition_date} (#{edition.id}) {reason}"]
    app = shared_app(settings.model_copy(update={"admin_token": TOKEN}), notifier=NoMail())
    with TestClient(app) as web:
        scraped = web.get("/metrics").text
        assert metric(scraped, "newsletter_editions_paused_for_refusals") == 1
        assert (
            metric(
                scraped,
                "newsletter_edition_refusal_pause_info",
                list="world-news",
                edition=edition.edition_date.isoformat(),
                reason=reason,
            )
            == 1
        )
        assert web.get(f"/api/admin/editions/{edition.id}", headers=AUTH).json()["pause_reason"] == reason
        page = web.get(f"/admin/editions/{edition.id}", headers=AUTH)
        assert "Paused by the service" in page.text and reason in page.text
        assert reason in web.get("/admin", headers=AUTH).text

        mailbox.reply_for.clear()  # SPF fixed: one action resumes, the refused readers included
        resumed = web.post(f"/api/admin/editions/{edition.id}/resume", headers=AUTH)
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["affected"] == policy and f"{policy} readers refused" in resumed.json()["message"]
        wait_until_complete(engine, edition.id)
        assert metric(web.get("/metrics").text, "newsletter_editions_paused_for_refusals") == 0

    got = Counter(r for m in mailbox.received for r in m.rcpt_tos)
    assert got == Counter(readers), "every reader exactly once: none doubled, none skipped"
    assert _ledger(db, edition.id) == {(DeliveryStatus.sent, None): 400}
    assert db.get(Edition, edition.id).pause_reason is None
    entries = [(e.actor, e.action, e.details) for e in audit.recent(db, object_type="edition", object_id=edition.id)]
    assert entries[-1] == ("system", "edition.pause", {"reason": reason, "automatic": True})
    assert entries[0][1] == "edition.resume" and entries[0][2]["affected"] == policy
    assert _status_cli().exit_code == 0


def _dsn(recipient: str, diagnostic: str) -> bytes:
    """A Postfix-shaped RFC 3464 report: the receiver accepted, then refused for our setup."""
    return (
        "From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@news.example.org\r\nSubject: Undelivered Mail\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.7.1\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n\r\n--B--\r\n"
    ).encode()


def test_later_5_7_bounces_pause_an_edition_still_sending(db, settings, world_news, mailbox):
    engine = engine_for(settings.effective_database_url)
    readers = add_readers(engine, world_news.id, 60, domains=("outlook.com",))
    mailbox.reply_for[readers[-1]] = "451 4.3.0 Try again later"  # the edition stays open for its retry
    day_of_stories(db)
    edition, _ = send_now(settings, db, world_news, utcnow().date(), utcnow())
    drain(settings, edition.id)
    ids = dict(
        db.execute(
            select(Subscriber.email, Delivery.id)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.edition_id == edition.id)
        ).all()
    )
    verp = Verp(settings)
    spamhaus = "550 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using Spamhaus"
    for reader in readers[:49]:
        ingest(db, _dsn(reader, spamhaus), settings=settings, source="test", envelope_to=verp.for_delivery(ids[reader]))
        db.commit()
    db.expire_all()
    assert db.get(Edition, edition.id).send_status == EditionStatus.sending, "49 in a row are within the limit"
    ingest(
        db,
        _dsn(readers[49], spamhaus),
        settings=settings,
        source="test",
        envelope_to=verp.for_delivery(ids[readers[49]]),
    )
    db.commit()
    db.expire_all()
    paused = db.get(Edition, edition.id)
    assert paused.send_status == EditionStatus.paused
    assert (
        paused.pause_reason == "paused: the last 50 replies and bounces in a row were 5.7.1 spam blocks from "
        "outlook.com"
    )


def test_the_reason_says_only_what_is_true_of_the_refusals():
    def gmail(n: int) -> list[Refusal]:
        return [Refusal(GMAIL_SPF, f"r{i}@gmail.com") for i in range(n)]

    assert describe(gmail(312), replies=1000, full=True, streak=False, bounced=False) == (
        "paused: 312 of the last 1,000 replies were 5.7.26 SPF failures from gmail.com"
    )
    mixed = gmail(280) + [Refusal("554 5.7.1 Message rejected: spam content", "a@yahoo.com")] * 32
    assert describe(mixed, replies=1000, full=True, streak=False, bounced=False) == (
        "paused: 312 of the last 1,000 replies were policy refusals, 280 of them 5.7.26 SPF failures; "
        "280 from gmail.com"
    )
    assert describe(gmail(50), replies=50, full=True, streak=True, bounced=False) == (
        "paused: the last 50 replies in a row were 5.7.26 SPF failures from gmail.com"
    )
    assert (
        kind_of(
            Refusal(
                "550 5.7.26 Unauthenticated email from example.org is not accepted due to domain's DMARC policy", None
            )
        )
        == "5.7.26 DMARC failures"
    )
    assert kind_of(Refusal("550 5.7.1 Client host rejected: cannot find your reverse hostname", None)) == (
        "5.7.1 policy refusals"
    )
    assert kind_of(Refusal("550 5.7.25 The IP address sending this message does not have a PTR record", None)) == (
        "5.7.25 reverse DNS failures"
    )
    assert kind_of(Refusal("550 Blocked by our policy", None)) == "550 policy refusals"


def test_the_limits_count_a_streak_or_a_share_of_the_window():
    limits = Limits(streak=50, percent=5.0, window=1000)
    assert limits.allowed == 50 and limits.check_every == 10 and limits.reach == 1000
    assert judge([True] * 49 + [False] * 951, limits) is None
    assert judge([True] * 50 + [False] * 950, limits) == (50, True)
    assert judge(([True] + [False] * 19) * 50, limits) is None, "50 of 1,000 is 5%: not more"
    assert judge(([True] + [False] * 9) * 51 + [False] * 490, limits) == (1000, False), "51 of 1,000 is over 5%"
    assert Limits(streak=0, percent=0, window=1000).enabled is False
