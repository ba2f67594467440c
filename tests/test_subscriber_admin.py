"""Subscriber admin on SQLite and PostgreSQL: search and keyset pages, detail, delete, suppressions, export."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from service.admin.models import AuditEntry
from service.core.addresses import address_hash
from service.core.db import engine_for
from service.core.errors import InvalidInput, UnknownPage
from service.lists.rules import create_list
from service.models import ConsentEvent, Delivery, Edition, Subscriber, Subscription, utcnow
from service.ops.schema import Base
from service.readers.subscribers import actions
from service.readers.subscribers.detail import find_subscriber_by_email, subscriber_detail
from service.readers.subscribers.export import export_csv
from service.readers.subscribers.importer import import_csv
from service.readers.subscribers.search import Page, search_subscribers
from service.readers.subscriptions.consent import ConsentContext
from service.readers.subscriptions.joining import add_subscriptions


class NoMail:
    """Pre-confirmed imports ask nobody to confirm."""

    def confirmations(self, subscriber_ids, list_id):
        raise AssertionError("nobody is mailed")


@pytest.fixture
def readers(db, world_news):
    """60 readers on world-news: every 10th unsubscribed, every 7th paused, 5 of them also pending on science."""
    science = create_list(db, slug="science", name="Science weekly")
    lines = ["email,name"] + [
        f"reader{n:02d}@example.com,{'Ada' if n % 3 == 0 else 'Alan'} Person{n:02d}" for n in range(60)
    ]
    import_csv(db, lines=[line + "\n" for line in lines], mailing_list=world_news, confirmed=True, notifier=NoMail())
    by_email = {s.email: s for s in db.scalars(select(Subscriber))}
    for n in range(60):
        subscriber = by_email[f"reader{n:02d}@example.com"]
        if n % 10 == 0:
            actions.unsubscribe(db, subscriber.id, list_slug="world-news", actor="ann@example.org")
        elif n % 7 == 0:
            subscriber.paused_until = utcnow() + timedelta(weeks=1)
        if n < 5:
            add_subscriptions(db, email=subscriber.email, lists=[science], consent=ConsentContext())
    db.commit()
    return by_email


def every_page(db, **filters) -> list[int]:
    """Walk the keyset pages to the end; return every id seen, in order."""
    seen: list[int] = []
    after = None
    while True:
        page: Page = search_subscribers(db, after=after, limit=7, **filters)
        seen += [row.id for row in page.rows]
        if page.next_after is None:
            return seen
        assert page.next_after == page.rows[-1].id
        after = page.next_after


def test_keyset_pages_return_each_reader_exactly_once_newest_first(db, readers):
    ids = every_page(db)
    assert len(ids) == len(set(ids)) == 60 and ids == sorted(ids, reverse=True)
    assert every_page(db, list_slug="world-news", status="unsubscribed") == sorted(
        (readers[f"reader{n:02d}@example.com"].id for n in range(0, 60, 10)), reverse=True
    )
    paused = every_page(db, list_slug="world-news", status="paused")
    assert sorted(paused) == sorted(readers[f"reader{n:02d}@example.com"].id for n in range(7, 60, 7))
    confirmed = every_page(db, list_slug="world-news", status="confirmed")
    assert len(confirmed) == 60 - 6 - 8 and not set(confirmed) & set(paused)
    assert len(every_page(db, status="unconfirmed")) == 5 and len(every_page(db, list_slug="science")) == 5


def test_search_matches_address_or_name_fragments_in_any_case(db, readers):
    [row] = search_subscribers(db, query="READER45@").rows
    assert (row.email, row.name, row.status, row.lists) == (
        "reader45@example.com",
        "Ada Person45",
        "confirmed",
        ["world-news"],
    )
    assert {r.email for r in search_subscribers(db, query="person0", limit=100).rows} == {
        f"reader0{n}@example.com" for n in range(10)
    }
    ada = every_page(db, query="ada", list_slug="world-news", status="confirmed")
    assert len(ada) == len([n for n in range(60) if n % 3 == 0 and n % 10 and n % 7])
    assert search_subscribers(db, query="%").rows == [] and search_subscribers(db, query="_").rows == []
    [paused] = search_subscribers(db, query="reader07").rows
    assert paused.status == "paused", "a paused reader shows as paused, not confirmed"
    [both] = search_subscribers(db, query="reader03").rows
    assert both.lists == ["science", "world-news"] and both.status == "confirmed"
    assert search_subscribers(db, query="reader03", list_slug="science").rows[0].status == "unconfirmed"
    with pytest.raises(InvalidInput, match="Unknown status"):
        search_subscribers(db, status="bounced")


def test_detail_shows_consent_deliveries_and_suppression(db, readers, world_news):
    reader = find_subscriber_by_email(db, "  Reader07@Example.com ")
    assert reader is not None
    edition = Edition(
        list_id=world_news.id,
        edition_date=date(2026, 11, 24),
        window_start=utcnow(),
        window_end=utcnow(),
        subject="News",
        placeholder_key="k",
        html="<p>",
        text="t",
    )
    later = Edition(
        list_id=world_news.id,
        edition_date=date(2026, 11, 25),
        window_start=utcnow(),
        window_end=utcnow(),
        subject="News",
        placeholder_key="k",
        html="<p>",
        text="t",
    )
    db.add_all([edition, later])
    db.flush()
    db.add_all(
        [
            Delivery(
                edition_id=edition.id,
                subscriber_id=reader.id,
                status="sent",
                not_before=utcnow(),
                smtp_code=250,
                smtp_reply="2.0.0 Ok: queued",
                sent_at=utcnow(),
            ),
            Delivery(
                edition_id=later.id,
                subscriber_id=reader.id,
                status="failed",
                not_before=utcnow(),
                smtp_code=550,
                smtp_reply="5.1.1 mailbox unavailable",
                failure_kind="hard_bounce",
            ),
        ]
    )
    db.commit()
    actions.suppress_address(db, reader.email, reason="hard bounce", actor="ann@example.org", ip="203.0.113.9")

    detail = subscriber_detail(db, reader.id)
    assert (detail.email, detail.name, detail.paused_until is not None) == (
        "reader07@example.com",
        "Alan Person07",
        True,
    )
    [subscription] = detail.subscriptions
    assert (subscription.list_slug, subscription.status, subscription.source) == ("world-news", "paused", "import")
    assert subscription.confirmed_at is not None and [e.action for e in subscription.events] == ["confirmed"]
    assert [(d.edition_date, d.status, d.smtp_code, d.smtp_reply, d.failure_kind) for d in detail.deliveries] == [
        (date(2026, 11, 25), "failed", 550, "5.1.1 mailbox unavailable", "hard_bounce"),
        (date(2026, 11, 24), "sent", 250, "2.0.0 Ok: queued", None),
    ]
    assert detail.deliveries[0].list_slug == "world-news" and detail.deliveries[1].sent_at is not None
    assert detail.suppression.suppressed and detail.suppression.reason == "hard bounce"
    assert detail.suppression.since is not None
    with pytest.raises(UnknownPage, match="no subscriber"):
        subscriber_detail(db, 10**9)


def test_admin_unsubscribe_is_recorded_as_consent_and_audit(db, readers):
    reader = readers["reader03@example.com"]
    assert actions.unsubscribe(db, reader.id, list_slug=None, actor="ann@example.org", ip="203.0.113.9") == [
        "science",
        "world-news",
    ]
    assert actions.unsubscribe(db, reader.id, list_slug=None, actor="ann@example.org") == [], "idempotent"
    detail = subscriber_detail(db, reader.id)
    assert {s.status for s in detail.subscriptions} == {"unsubscribed"}
    assert all(
        s.unsubscribed_at is not None and s.events[-1].action == "unsubscribed" and s.events[-1].source == "admin"
        for s in detail.subscriptions
    )
    entry = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "subscriber.unsubscribe", AuditEntry.object_id == str(reader.id))
        .order_by(AuditEntry.id)
    ).first()  # the first call's (the no-op second call is audited too)
    assert entry is not None and (entry.actor, entry.ip) == ("ann@example.org", "203.0.113.9")


def test_delete_removes_the_reader_and_everything_about_them_only(db, readers, world_news):
    gone, kept = readers["reader03@example.com"], readers["reader04@example.com"]
    edition = Edition(
        list_id=world_news.id,
        edition_date=date(2026, 11, 24),
        window_start=utcnow(),
        window_end=utcnow(),
        subject="News",
        placeholder_key="k",
        html="<p>",
        text="t",
    )
    db.add(edition)
    db.flush()
    db.add_all(
        [
            Delivery(edition_id=edition.id, subscriber_id=who.id, status="sent", not_before=utcnow())
            for who in (gone, kept)
        ]
    )
    db.commit()
    gone_id = gone.id
    actions.delete_subscriber(db, gone_id, actor="ann@example.org", ip="203.0.113.9")
    db.expire_all()
    assert db.get(Subscriber, gone_id) is None
    assert db.scalar(select(func.count()).select_from(Subscription).where(Subscription.subscriber_id == gone_id)) == 0
    assert db.scalar(select(func.count()).select_from(Delivery).where(Delivery.subscriber_id == gone_id)) == 0
    orphans = (
        select(func.count())
        .select_from(ConsentEvent)
        .where(ConsentEvent.subscription_id.not_in(select(Subscription.id)))
    )
    assert db.scalar(orphans) == 0
    assert len(subscriber_detail(db, kept.id).subscriptions) == 2 and len(subscriber_detail(db, kept.id).deliveries)
    assert db.scalar(select(func.count(Subscriber.id))) == 59
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "subscriber.delete"))
    assert entry.object_id == str(gone_id) and "reader03" not in str(entry.details), "the audit keeps no address"
    with pytest.raises(UnknownPage):
        actions.delete_subscriber(db, gone_id, actor="ann@example.org")


def test_suppress_and_unsuppress_need_a_reason_and_are_audited(db, world_news):
    with pytest.raises(InvalidInput, match="reason"):
        actions.suppress_address(db, "Someone@Example.com", reason=" ", actor="ann@example.org")
    row = actions.suppress_address(
        db, "Someone@Example.com", reason="asked by phone", actor="ann@example.org", ip="203.0.113.9"
    )
    assert row.email_hash == address_hash("someone@example.com") and row.reason == "asked by phone"
    actions.suppress_address(db, "someone@example.com", reason="again", actor="ann@example.org")  # idempotent
    assert actions.lookup_suppression(db, "SOMEONE@example.com") == row
    for n in range(5):
        actions.suppress_address(db, f"more{n}@example.com", reason="bounce", actor="system")
    first = actions.suppressions_page(db, after=None, limit=4)
    rest = actions.suppressions_page(db, after=first.next_after, limit=4)
    assert rest.next_after is None and len({r.id for r in first.rows + rest.rows}) == 6
    assert row in rest.rows and "someone" not in repr(first.rows + rest.rows), "only hashes are kept"

    with pytest.raises(InvalidInput, match="reason"):
        actions.unsuppress_address(db, "someone@example.com", reason="", actor="ann@example.org")
    actions.unsuppress_address(db, "someone@example.com", reason="suppressed by mistake", actor="bob@example.org")
    assert actions.lookup_suppression(db, "someone@example.com") is None
    with pytest.raises(InvalidInput, match="not on the suppression list"):
        actions.unsuppress_address(db, "someone@example.com", reason="again", actor="bob@example.org")
    audit = {
        (e.action, e.actor, e.details.get("reason"))
        for e in db.scalars(select(AuditEntry).where(AuditEntry.object_id == row.email_hash))
    }
    assert audit == {
        ("suppression.add", "ann@example.org", "asked by phone"),
        ("suppression.add", "ann@example.org", "again"),
        ("suppression.remove", "bob@example.org", "suppressed by mistake"),
    }


def test_export_streams_a_list_by_status_with_a_formula_guard(db, world_news):
    add_subscriptions(
        db,
        email="formula@example.com",
        name='=HYPERLINK("http://evil")',
        lists=[world_news],
        consent=ConsentContext(),
        confirmed=True,
    )
    add_subscriptions(
        db, email="plus@example.com", name="+1 caller", lists=[world_news], consent=ConsentContext(), confirmed=True
    )
    add_subscriptions(db, email="pending@example.com", name="@home", lists=[world_news], consent=ConsentContext())
    db.commit()
    every = list(csv.reader(io.StringIO("".join(export_csv(db, list_slug="world-news", status=None)))))
    assert every[0] == ["email", "name", "status", "subscribed_at", "confirmed_at", "timezone"]
    by_email = {row[0]: row for row in every[1:]}
    assert by_email["formula@example.com"][1] == '\'=HYPERLINK("http://evil")'
    assert by_email["plus@example.com"][1] == "'+1 caller" and by_email["pending@example.com"][1] == "'@home"
    assert by_email["pending@example.com"][2:5:2] == ["unconfirmed", ""] and by_email["plus@example.com"][4]
    confirmed = list(csv.reader(io.StringIO("".join(export_csv(db, list_slug="world-news", status="confirmed")))))
    assert sorted(row[0] for row in confirmed[1:]) == ["formula@example.com", "plus@example.com"]


def test_export_walks_many_batches_and_shows_paused(db, readers, monkeypatch):
    from service.readers.subscribers import export

    monkeypatch.setattr(export, "BATCH", 7)  # small batches, so the keyset walk crosses many
    lines = list(export_csv(db, list_slug="world-news", status=None))
    assert len(lines) == 61 and all(line.endswith("\r\n") for line in lines)
    assert len({line.split(",")[0] for line in lines[1:]}) == 60, "each reader once"
    paused = [row for row in csv.reader(io.StringIO("".join(lines))) if row[2] == "paused"]
    assert len(paused) == 8


def test_the_migrations_build_what_the_models_declare(settings):
    with engine_for(settings.effective_database_url).connect() as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection, opts={"compare_type": False}), Base.metadata
        )
    # the trigram indexes are PostgreSQL-only and live in migration 0006 alone (SQLite searches with LIKE)
    ours = [
        d
        for d in differences
        if "subscri" in str(d)
        and not (d[0] == "remove_index" and d[1].name in ("ix_subscribers_email_trgm", "ix_subscribers_name_trgm"))
    ]
    assert ours == [], ours
