"""Admin actions racing the workers and the sweeper: a retry, a cancel or a completion never loses a reader's fate."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from service.bounces.policy import FailureKind
from service.core.db import engine_for
from service.core.errors import InvalidInput
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


def _sent_but_not_yet_complete(db, settings, world_news, mailbox, *, refuse_one: bool):
    """Every reader's outcome recorded (one refused by a policy since fixed, if asked), 'complete' not yet written."""
    engine, edition, (delivered, refused) = _started(db, settings, world_news, 2, "race")
    if refuse_one:
        mailbox.reply_for[refused] = "550 5.7.1 Message rejected by policy"
    drain(settings, edition.id)
    mailbox.wait_for(delivered)
    mailbox.reply_for.clear()
    with engine.begin() as conn:  # the moment after the last reply is recorded, before the drain marks it complete
        conn.execute(
            update(Edition).where(Edition.id == edition.id).values(send_status=EditionStatus.sending, completed_at=None)
        )
    return engine, edition, refused


@contextmanager
def _in_another_thread(monkeypatch) -> Iterator[tuple[ThreadPoolExecutor, threading.Event]]:
    """A thread for the racing side, and an event set when it asks for the edition's lock."""
    asked = threading.Event()
    lock = control.lock_edition

    def noting_the_ask(conn, edition_id):
        if threading.current_thread() is not threading.main_thread():
            asked.set()
        return lock(conn, edition_id)

    monkeypatch.setattr(control, "lock_edition", noting_the_ask)
    with ThreadPoolExecutor(1) as pool:
        yield pool, asked


def _wait_until_blocked(conn, waiting: Future, asked: threading.Event, seconds: float = 20.0) -> None:
    """Until `waiting` waits for the edition lock that `conn`'s open transaction holds."""
    assert asked.wait(seconds), f"the other side did not ask for the edition's lock within {seconds} s"
    if conn.dialect.name == "sqlite":  # SQLite shows no lock waits; a writer that did not wait is done by now
        time.sleep(0.2)
        assert not waiting.done(), "a writer went ahead of the transaction holding SQLite's write lock"
        return
    holder = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    blocked = text("SELECT count(*) FROM pg_stat_activity WHERE :holder = ANY(pg_blocking_pids(pid))")
    deadline = time.monotonic() + seconds
    with conn.engine.connect() as watching:
        while not watching.scalar(blocked, {"holder": holder}):
            assert not waiting.done(), "it went ahead without waiting for the edition's lock"
            assert time.monotonic() < deadline, f"nothing waited on the edition's lock within {seconds} s"
            time.sleep(0.05)


@pytest.mark.sqlite_twin
def test_a_retry_committing_while_the_last_drain_completes_is_not_marked_complete_over(
    db, settings, world_news, mailbox, monkeypatch
):
    engine, edition, refused = _sent_but_not_yet_complete(db, settings, world_news, mailbox, refuse_one=True)
    with _in_another_thread(monkeypatch) as (pool, asked), engine.connect() as retrying:
        transaction = retrying.begin()  # the admin's retry, caught after it reopened the failed row
        assert control.reopen_failed(retrying, edition.id, now=utcnow(), expiry=timedelta(hours=1)) == 1
        finishing = pool.submit(control.finish_if_done, engine, edition.id, now=utcnow())
        _wait_until_blocked(retrying, finishing, asked)
        transaction.commit()
        assert finishing.result(timeout=30) is False, "the reopened reader keeps the edition open"

    assert _status(engine, edition.id) == EditionStatus.sending
    drain(settings, edition.id)  # the retry's drain finds the edition still sending
    assert len(mailbox.wait_for(refused)) == 1
    assert _status(engine, edition.id) == EditionStatus.complete


@pytest.mark.sqlite_twin
def test_a_retry_reads_the_status_the_last_drain_just_wrote(db, settings, world_news, mailbox, monkeypatch):
    engine, edition, refused = _sent_but_not_yet_complete(db, settings, world_news, mailbox, refuse_one=True)
    finishing: list[Future] = []
    checked = control.rollup.exists_for
    with _in_another_thread(monkeypatch) as (pool, asked):

        def last_drain_completes_meanwhile(conn, edition_id):
            """The retry has read the edition; the last drain tries to mark it complete right now."""
            finishing.append(pool.submit(control.finish_if_done, engine, edition_id, now=utcnow()))
            _wait_until_blocked(conn, finishing[0], asked)
            return checked(conn, edition_id)

        monkeypatch.setattr(control.rollup, "exists_for", last_drain_completes_meanwhile)
        assert control.retry_failed(engine, edition.id, now=utcnow(), expiry=timedelta(hours=1)) == 1
        assert finishing[0].result(timeout=30) is False, "the retry's reader keeps the edition open"

    assert _status(engine, edition.id) == EditionStatus.sending
    drain(settings, edition.id)
    assert len(mailbox.wait_for(refused)) == 1


@pytest.mark.sqlite_twin
def test_a_cancel_after_the_last_reader_was_sent_leaves_the_edition_complete(
    db, settings, world_news, mailbox, monkeypatch
):
    engine, edition, _reader = _sent_but_not_yet_complete(db, settings, world_news, mailbox, refuse_one=False)
    with _in_another_thread(monkeypatch) as (pool, asked), engine.connect() as finishing:
        transaction = finishing.begin()  # the last drain, marking the edition complete
        control.lock_edition(finishing, edition.id)
        assert control.complete_if_done(finishing, edition.id, utcnow())
        cancelling = pool.submit(control.cancel, engine, edition.id)  # the admin clicked "Cancel" a moment late
        _wait_until_blocked(finishing, cancelling, asked)
        transaction.commit()
        with pytest.raises(InvalidInput, match="is complete"):
            cancelling.result(timeout=30)
    assert _status(engine, edition.id) == EditionStatus.complete, "a sent edition stays in the archive"


@pytest.mark.sqlite_twin
def test_a_cancel_during_a_batch_leaves_no_reader_waiting_for_ever(db, settings, world_news, mailbox):
    engine, edition, (greylisted, _other) = _started(db, settings, world_news, 2, "cancel")
    mailbox.reply_for[greylisted] = "451 4.7.1 Greylisted, try again later"

    def admin_cancels(step: Step, delivery_id: int) -> None:
        if step == Step.claimed and _status(engine, edition.id) != EditionStatus.cancelled:
            assert control.cancel(engine, edition.id) == 0, "both rows are in flight: nothing pending to cancel"

    drain(settings, edition.id, observe=admin_cancels)  # the batch in flight ends: one sent, one greylisted
    assert sorted(_row_status(engine, edition.id).values()) == [DeliveryStatus.pending, DeliveryStatus.sent]

    later = utcnow() + timedelta(minutes=5)
    swept = control.sweep(engine, now=later)
    assert swept.cancelled == 1
    assert sorted(_row_status(engine, edition.id).values()) == [DeliveryStatus.cancelled, DeliveryStatus.sent]
    assert _status(engine, edition.id) == EditionStatus.cancelled
    assert edition.id in swept.counted + reply_counts.count_finished(engine, now=later), "its figures are final"
    assert retention.roll_up(engine, edition.id, now=later), "and it can be pruned in time"


def test_the_sweeper_does_not_expire_readers_a_retry_just_gave_a_later_expiry(db, settings, world_news, monkeypatch):
    """PostgreSQL only: SQLite's sweep takes the one write lock at its first statement, so no retry gets in."""
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
