"""Sending an edition through real Celery workers over real SMTP: every confirmed reader once, replies recorded."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from service.core.addresses import address_hash
from service.core.db import engine_for
from service.delivery import control
from service.delivery.schedule import send_now
from service.models import Delivery, DeliveryStatus, Edition, EditionStatus, Subscriber, Suppression, utcnow
from service.readers.subscriptions.consent import ConsentContext
from service.readers.subscriptions.preferences import unsubscribe
from service.tasks import start_drains
from tests.support.edition_stories import day_of_stories
from tests.support.readers import add_readers, pause, suppress, wait_until_complete


def _rows(db, edition_id: int) -> dict[str, Delivery]:
    """The ledger rows of an edition by reader address."""
    query = select(Subscriber.email, Delivery).join(Delivery, Delivery.subscriber_id == Subscriber.id)
    return {email: row for email, row in db.execute(query.where(Delivery.edition_id == edition_id))}


def _received(mailbox) -> Counter:
    """How many messages each envelope recipient got."""
    return Counter(rcpt for message in mailbox.received for rcpt in message.rcpt_tos)


def _start(db, settings, world_news, readers: int = 0):
    """Stories, readers, and the edition started for them (the audience is fixed here)."""
    day_of_stories(db)
    edition, planned = send_now(settings, db, world_news, utcnow().date(), utcnow())
    return edition, planned


def test_every_confirmed_reader_gets_the_edition_once(db, settings, world_news, celery_worker, mailbox):
    engine = engine_for(settings.effective_database_url)
    confirmed = add_readers(engine, world_news.id, 120)
    add_readers(engine, world_news.id, 5, prefix="unconfirmed", status="unconfirmed")
    suppress(engine, confirmed[:3])
    pause(engine, confirmed[3:5])
    expected = set(confirmed[5:])

    edition, planned = _start(db, settings, world_news)
    assert planned == len(expected), "suppressed and paused readers are left out when the audience is fixed"
    start_drains(edition.id, 3)
    wait_until_complete(engine, edition.id)

    got = _received(mailbox)
    assert set(got) == expected and set(got.values()) == {1}
    rows = _rows(db, edition.id)
    assert {r.status for r in rows.values()} == {DeliveryStatus.sent}
    sample = next(m for m in mailbox.received if m.rcpt_tos == [confirmed[10]]).message
    assert sample["Message-ID"] == rows[confirmed[10]].message_id
    assert rows[confirmed[10]].smtp_code == 250 and "accepted" in rows[confirmed[10]].smtp_reply
    assert sample["Subject"] == edition.subject and sample["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe/" in sample["List-Unsubscribe"]
    again = send_now(settings, db, world_news, edition.edition_date, utcnow())
    assert again[1] is None, "a second send of the same edition plans nobody again"


def test_smtp_replies_decide_each_rows_fate(db, settings, world_news, celery_worker, mailbox):
    engine = engine_for(settings.effective_database_url)
    readers = add_readers(engine, world_news.id, 8)
    mailbox.reply_for.update(
        {
            readers[0]: "550 5.1.1 No such user here",
            readers[1]: "550 5.7.1 Rejected by policy: sender not authorised",
            readers[2]: "451 4.3.0 Try again later",
            readers[3]: "552 5.2.2 Mailbox full",
        }
    )
    edition, _ = _start(db, settings, world_news)
    start_drains(edition.id, 1)
    mailbox.wait_for(readers[7])
    rows = _wait_settled(db, edition.id, pending_ok={readers[2]})

    assert (rows[readers[0]].status, rows[readers[0]].failure_kind) == ("failed", "no_such_user")
    assert db.scalar(select(Suppression).where(Suppression.email_hash == address_hash(readers[0]))) is not None
    assert (rows[readers[1]].status, rows[readers[1]].failure_kind) == ("failed", "policy")
    assert db.scalar(select(Suppression).where(Suppression.email_hash == address_hash(readers[1]))) is None
    retry = rows[readers[2]]
    assert retry.status == "pending" and retry.smtp_code == 451 and retry.attempts == 1
    assert retry.not_before.replace(tzinfo=None) > utcnow().replace(tzinfo=None), "a 4xx is retried later, not now"
    assert (rows[readers[3]].status, rows[readers[3]].failure_kind) == ("failed", "rejected")
    assert set(_received(mailbox)) == set(readers[4:])
    assert db.get(Edition, edition.id).send_status == EditionStatus.sending, "not complete while a retry is pending"
    with engine.connect() as conn:
        (row,) = [r for r in control.statuses(conn) if r["id"] == edition.id]
    assert row["planned"] == 8 and row["counts"]["policy"] == 1, "the policy refusal is flagged for ops"


def _wait_settled(db, edition_id: int, pending_ok: set[str], timeout: float = 30.0) -> dict[str, Delivery]:
    """Wait until only the expected rows are still open."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        db.expire_all()
        rows = _rows(db, edition_id)
        still_open = {e for e, r in rows.items() if r.status in DeliveryStatus.OPEN}
        if still_open <= pending_ok and all(rows[e].status == "pending" for e in pending_ok):
            return rows
        assert time.monotonic() < deadline, f"still open: {still_open}"
        time.sleep(0.2)


def test_reader_who_leaves_after_planning_is_skipped(db, settings, world_news, celery_worker, mailbox):
    engine = engine_for(settings.effective_database_url)
    readers = add_readers(engine, world_news.id, 10)
    edition, _planned = _start(db, settings, world_news)
    leaver = db.scalar(select(Subscriber).where(Subscriber.email == readers[4]))
    unsubscribe(db, subscriber_id=leaver.id, list_id=world_news.id, consent=ConsentContext(source="test"))
    suppress(engine, [readers[5]])
    start_drains(edition.id, 2)
    wait_until_complete(engine, edition.id)
    assert set(_received(mailbox)) == set(readers) - {readers[4], readers[5]}
    rows = _rows(db, edition.id)
    assert rows[readers[4]].status == rows[readers[5]].status == DeliveryStatus.skipped


def test_pause_holds_sending_and_resume_finishes_it(db, settings, world_news, celery_worker, mailbox):
    engine = engine_for(settings.effective_database_url)
    readers = add_readers(engine, world_news.id, 30)
    edition, _ = _start(db, settings, world_news)
    assert control.set_paused(engine, edition.id, paused=True)
    start_drains(edition.id, 2)
    mailbox.assert_nothing_for(readers[0])
    assert control.set_paused(engine, edition.id, paused=False)
    start_drains(edition.id, 2)
    wait_until_complete(engine, edition.id)
    assert set(_received(mailbox)) == set(readers)


def test_cancel_drops_everyone_not_yet_mailed(db, settings, world_news, celery_worker, mailbox):
    engine = engine_for(settings.effective_database_url)
    readers = add_readers(engine, world_news.id, 30)
    edition, _ = _start(db, settings, world_news)
    assert control.cancel(engine, edition.id) == len(readers)
    start_drains(edition.id, 2)
    mailbox.assert_nothing_for(readers[0])
    assert {r.status for r in _rows(db, edition.id).values()} == {DeliveryStatus.cancelled}


def test_admin_sends_and_watches_an_edition_from_the_command_line(
    db, settings, world_news, service_env, celery_worker, mailbox
):

    from tests.support.cli import run_newsletter

    def newsletter(*args: str) -> str:
        """Run the CLI as an admin would (its entry point, in-process; tests/support/faults runs it as a process)."""
        done = run_newsletter(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    readers = add_readers(engine_for(settings.effective_database_url), world_news.id, 12)
    day_of_stories(db, 3)
    today = utcnow().date().isoformat()
    assert "12 readers planned" in newsletter("editions", "send", "--list", "world-news", "--date", today)
    edition_id = db.scalar(select(Edition.id))
    wait_until_complete(engine_for(settings.effective_database_url), edition_id)
    table = newsletter("editions", "status")
    row = next(line for line in table.splitlines() if "world-news" in line)
    assert "complete" in row and " 12 " in row
    assert "already started" in newsletter("editions", "send", "--list", "world-news", "--date", today)
    assert sorted(r for m in mailbox.received for r in m.rcpt_tos) == sorted(readers), "a second send adds nobody"
