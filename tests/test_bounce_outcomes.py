"""What each bounce outcome does to a reader (SQLite and PostgreSQL): suppressed, held, scored, unsubscribed, kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from service.bounce_intake.process import ingest
from service.bounces import store
from service.bounces.models import Bounce
from service.bounces.score import bounce_score
from service.bounces.verp import signed_message_id
from service.core.addresses import address_hash
from service.mail import suppressions
from service.models import SubscriptionStatus, utcnow
from service.readers.subscribers.detail import subscriber_detail
from tests.support.bounce_reports import FIXTURES, _reader, dsn, proven


def test_hard_bounce_suppresses_with_its_reason_and_shows_on_the_reader(db, settings, world_news):
    reader = _reader(db, world_news, "gone@example.org")
    taken = ingest(db, dsn("gone@example.org", "5.1.1", to=proven(settings, reader)), settings=settings, source="cli")
    db.commit()
    assert [(t.kind, t.matched_by) for t in taken] == [("hard", "verp")]
    assert suppressions.lookup(db, "gone@example.org").reason == "hard bounce 5.1.1"
    detail = subscriber_detail(db, reader.id)
    assert [(b.kind, b.status) for b in detail.bounces] == [("hard", "5.1.1")]
    again = ingest(db, dsn("gone@example.org", "5.1.1", to=proven(settings, reader)), settings=settings, source="imap")
    assert again[0].duplicate and db.scalar(select(Bounce.id).where(Bounce.id > detail.bounces[0].id)) is None


def test_policy_and_delay_reports_never_suppress(db, settings, world_news):
    reader = _reader(db, world_news, "fine@example.org")
    ingest(
        db,
        dsn("fine@example.org", "5.7.1", diagnostic="smtp; 550 5.7.1 SPF check failed", to=proven(settings, reader)),
        settings=settings,
        source="cli",
    )
    ingest(
        db,
        dsn("fine@example.org", "4.4.1", action="delayed", to=proven(settings, reader)),
        settings=settings,
        source="cli",
    )
    db.commit()
    assert not suppressions.is_suppressed(db, "fine@example.org")
    assert sorted((b.kind, b.review) for b in db.scalars(select(Bounce))) == [("delay", None), ("policy", None)]
    (refused,) = store.policy_refusals(db, since=utcnow() - timedelta(days=1))
    assert (refused.domain, refused.count, refused.status) == ("example.org", 1, "5.7.1"), "counted for ops"
    from service.ops.monitoring.metrics import render

    assert 'newsletter_policy_refusals{domain="example.org",edition=""} 1.0' in render(settings).decode()


def test_repeated_soft_bounces_over_days_disable_the_address(db, settings, world_news):
    reader = _reader(db, world_news, "full@example.org")
    now = utcnow()
    for days_ago in (8, 6, 4, 2):  # four earlier days with a soft bounce, each within a week of the next
        store.add(
            db,
            received_at=now - timedelta(days=days_ago),
            kind="soft",
            status="4.2.2",
            diagnostic=None,
            recipient_hash=address_hash(reader.email),
            delivery_id=None,
            subscriber_id=reader.id,
            edition_id=None,
            matched_by="recipient",
            source="cli",
            message_sha256=f"old{days_ago}",
            raw=None,
        )
    db.commit()
    assert bounce_score(db, settings, reader.email) == 4 and not suppressions.is_suppressed(db, reader.email)
    forged = dsn(reader.email, "4.2.2", diagnostic="smtp; 452 4.2.2 Mailbox full")
    assert ingest(db, forged, settings=settings, source="cli")[0].action.startswith("held for review")
    assert bounce_score(db, settings, reader.email) == 4, "a report held for review adds nothing to the score"
    ingest(
        db,
        dsn(reader.email, "4.2.2", diagnostic="smtp; 452 4.2.2 Mailbox full", to=proven(settings, reader)),
        settings=settings,
        source="cli",
    )
    db.commit()
    assert suppressions.lookup(db, reader.email).reason == "repeated soft bounces 4.2.2 (score 5)"


def test_a_complaint_unsubscribes_from_every_list_and_suppresses(db, settings, world_news):
    reader = _reader(db, world_news, "user@example.com")
    raw = (
        (FIXTURES / "rfc5965_b2_extended.eml")
        .read_bytes()
        .replace(  # the original is one we sent the reader
            b"8787KJKJ3K4J3K4J3K4J3.mail@example.net", signed_message_id(settings, 1, reader.id).encode()
        )
    )
    assert [(t.kind, t.matched_by) for t in ingest(db, raw, settings=settings, source="api")] == [
        ("complaint", "message-id")
    ]
    db.commit()
    db.refresh(reader)
    assert {s.status for s in reader.subscriptions} == {SubscriptionStatus.unsubscribed}
    assert suppressions.lookup(db, reader.email).reason == "complaint abuse"


def test_a_message_that_cannot_be_parsed_is_kept_for_review(db, settings):
    raw = (FIXTURES / "flufl_qmail_08.eml").read_bytes()
    taken = ingest(db, raw, settings=settings, source="cli")
    db.commit()
    (kept,) = db.scalars(select(Bounce))
    assert taken[0].kind == "unparsed" and kept.kind == "unparsed" and "Gracias por contactar" in kept.raw


def test_metrics_count_bounces_by_kind(settings, db):
    from service.ops.monitoring.metrics import render

    ingest(db, (FIXTURES / "flufl_dsn_05.eml").read_bytes(), settings=settings, source="cli")
    db.commit()
    text = render(settings).decode()
    assert 'newsletter_bounces_total{kind="delay"} 1.0' in text and 'newsletter_bounces_total{kind="hard"} 0.0' in text
