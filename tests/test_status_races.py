"""Admin actions racing the workers and the sweeper: a retry, a cancel or a completion never loses a reader's fate."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from service.bounces.policy import FailureKind
from service.core.db import engine_for
from service.delivery import control, ledger, reply_counts, retention
from service.delivery.ledger import Outcome
from service.delivery.schedule import send_now
from service.delivery.sender import drain
from service.delivery.steps import Step
from service.models import Delivery, DeliveryStatus, Edition, EditionStatus, utcnow
from tests.support.edition_stories import day_of_stories
from tests.support.readers import add_readers

# The locks differ (row locks in PostgreSQL, one writer at a time in SQLite): a test marked sqlite_twin runs on both.


def _status(engine, edition_id: int) -> str:
    with engine.connect() as conn:
        return conn.scalar(select(Edition.send_status).where(Edition.id == edition_id))


def _row_status(engine, edition_id: int) -> dict[int, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Delivery.id, Delivery.status).where(Delivery.edition_id == edition_id)).all())


def _started(db, settings, world_news, readers: int, prefix: str):
    """An edition started for `readers` new readers, no worker draining it yet."""
    engine = engine_for(settings.effective_database_url)
    addresses = add_readers(engine, world_news.id, readers, prefix=prefix)
    day_of_stories(db, 2)
    edition, planned = send_now(settings, db, world_news, utcnow().date(), utcnow())
    assert planned == readers
    return engine, edition, addresses


def _wait_until_blocked(engine, waiting: Future, seconds: float = 10.0) -> None:
    """Until `waiting` waits on the lock another transaction holds (PostgreSQL shows it; SQLite's wait is unseen)."""
    if engine.dialect.name == "sqlite":
        time.sleep(0.5)  # SQLite shows no lock waits: give the other thread time to reach its write
        assert not waiting.done(), "a writer went ahead of the transaction holding SQLite's write lock"
        return
    deadline = time.monotonic() + seconds
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.scalar(query):
                return
        assert not waiting.done(), "it went ahead without waiting for the lock"
        time.sleep(0.05)
    raise AssertionError(f"nothing waited on the edition's lock within {seconds} s")


def _fail_then_fix(db, settings, world_news, mailbox):
    """An edition whose one refused reader failed and whose relay is fixed, caught before the drain says 'complete'."""
    engine, edition, (delivered, blocked) = _started(db, settings, world_news, 2, "race")
    mailbox.reply_for[blocked] = "550 5.7.1 Message rejected by policy"
    drain(settings, edition.id)
    mailbox.wait_for(delivered)
    mailbox.reply_for.clear()
    with engine.begin() as conn:  # the moment after the last reply is recorded, before the drain marks it complete
        conn.execute(
            update(Edition).where(Edition.id == edition.id).values(send_status=EditionStatus.sending, completed_at=None)
        )
    return engine, edition, blocked


@pytest.mark.sqlite_twin
def test_a_retry_committing_while_the_last_drain_completes_is_not_marked_complete_over(
    db, settings, world_news, mailbox
):
    engine, edition, blocked = _fail_then_fix(db, settings, world_news, mailbox)
    with engine.connect() as retrying, ThreadPoolExecutor(1) as pool:
        transaction = retrying.begin()  # the admin's retry, caught after it reopened the failed row
        assert control.reopen_failed(retrying, edition.id, now=utcnow(), expiry=timedelta(hours=1)) == 1
        finishing = pool.submit(control.finish_if_done, engine, edition.id, now=utcnow())
        _wait_until_blocked(engine, finishing)
        transaction.commit()
        assert finishing.result(timeout=30) is False, "the reopened reader keeps the edition open"

    assert _status(engine, edition.id) == EditionStatus.sending
    drain(settings, edition.id)  # the retry's drain finds the edition still sending
    assert len(mailbox.wait_for(blocked)) == 1
    assert _status(engine, edition.id) == EditionStatus.complete


@pytest.mark.sqlite_twin
def test_a_retry_reads_the_status_the_last_drain_just_wrote(db, settings, world_news, mailbox, monkeypatch):
    engine, edition, blocked = _fail_then_fix(db, settings, world_news, mailbox)
    pool = ThreadPoolExecutor(1)
    finishing: list[Future] = []
    checked = control.rollup.exists_for

    def last_drain_completes_meanwhile(conn, edition_id):
        """The retry has read the edition; the last drain tries to mark it complete right now."""
        finishing.append(pool.submit(control.finish_if_done, engine, edition_id, now=utcnow()))
        _wait_until_blocked(engine, finishing[0])
        return checked(conn, edition_id)

    monkeypatch.setattr(control.rollup, "exists_for", last_drain_completes_meanwhile)
    assert control.retry_failed(engine, edition.id, now=utcnow(), expiry=timedelta(hours=1)) == 1
    assert finishing[0].result(timeout=30) is False, "the retry's reader keeps the edition open"
    pool.shutdown()

    assert _status(engine, edition.id) == EditionStatus.sending
    drain(settings, edition.id)
    assert len(mailbox.wait_for(blocked)) == 1


@pytest.mark.sqlite_twin
def test_a_cancel_during_a_batch_leaves_no_reader_waiting_for_ever(db, settings, world_news, mailbox):
    engine, edition, (greylisted, _other) = _started(db, settings, world_news, 2, "cancel")
    mailbox.reply_for[greylisted] = "451 4.7.1 Greylisted, try again later"

    def admin_cancels(step: Step, delivery_id: int) -> None:
        if step == Step.claimed and _status(engine, edition.id) != EditionStatus.cancelled:
            assert control.cancel(engine, edition.id) == 0, "both rows are in flight: nothing pending to cancel"

    drain(settings, edition.id, observe=admin_cancels)  # the batch in flight ends: one sent, one greylisted
    assert sorted(_row_status(engine, edition.id).values()) == [DeliveryStatus.pending, DeliveryStatus.sent]

    later = utcnow() + timedelta(minutes=5)  # the greylisted row is due again
    swept = control.sweep(engine, now=later)
    assert swept.cancelled == 1 and swept.to_drain == []
    assert sorted(_row_status(engine, edition.id).values()) == [DeliveryStatus.cancelled, DeliveryStatus.sent]
    assert _status(engine, edition.id) == EditionStatus.cancelled
    assert edition.id in swept.counted + reply_counts.count_finished(engine, now=later), "its figures are final"
    assert retention.roll_up(engine, edition.id, now=later), "and it can be pruned in time"


def test_the_sweeper_does_not_expire_readers_a_retry_just_gave_a_new_day(db, settings, world_news, monkeypatch):
    """PostgreSQL only: in SQLite the sweep holds the one write lock from its first statement, so no retry gets in."""
    engine, edition, _readers = _started(db, settings, world_news, 2, "expiry")
    with engine.begin() as conn:  # two messages in flight; one is refused by a policy since fixed
        token, (refused, _in_flight) = ledger.claim(
            conn, edition_id=edition.id, limit=2, now=utcnow(), lease_seconds=600
        )
    with engine.begin() as conn:
        refusal = Outcome(DeliveryStatus.failed, 550, "550 5.7.1 rejected by policy", failure_kind=FailureKind.policy)
        assert ledger.record(conn, token=token, delivery_id=refused.delivery_id, outcome=refusal)
        conn.execute(update(Edition).where(Edition.id == edition.id).values(send_expires_at=utcnow() - timedelta(1)))
    retried: list[int] = []
    lock = control.lock_edition

    def admin_retries_meanwhile(conn, edition_id):
        """The sweep has listed the sending editions, with the old expiry; the admin's retry commits now."""
        if not retried:
            retried.append(0)  # once: the retry's own lock, taken inside it, is the plain one
            retried[0] = control.retry_failed(engine, edition_id, now=utcnow(), expiry=timedelta(hours=1))
        return lock(conn, edition_id)

    monkeypatch.setattr(control, "lock_edition", admin_retries_meanwhile)
    swept = control.sweep(engine, now=utcnow())
    assert retried == [1] and swept.expired == 0
    assert _row_status(engine, edition.id)[refused.delivery_id] == DeliveryStatus.pending, "retried, not expired"
