"""A "retry failed" that lands while the last drain marks the edition complete still reaches the retried reader."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select, text, update

from service.core.db import engine_for
from service.delivery import control
from service.delivery.schedule import send_now
from service.delivery.sender import drain
from service.models import Edition, EditionStatus, utcnow
from tests.support.edition_stories import day_of_stories
from tests.support.readers import add_readers


def _wait_for_a_lock_wait(engine, timeout: float = 10.0) -> None:
    """Until another session of this database waits on a row lock (PostgreSQL shows it in pg_stat_activity)."""
    deadline = time.monotonic() + timeout
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.scalar(query):
                return
        time.sleep(0.05)
    raise AssertionError(f"no session waited on the edition's lock within {timeout} s")


def test_a_retry_during_the_last_drains_completion_is_not_marked_complete_over(db, settings, world_news, mailbox):
    engine = engine_for(settings.effective_database_url)
    delivered, blocked = add_readers(engine, world_news.id, 2, prefix="race")
    mailbox.reply_for[blocked] = "550 5.7.1 Message rejected by policy"
    day_of_stories(db, 2)
    edition, planned = send_now(settings, db, world_news, utcnow().date(), utcnow())
    assert planned == 2
    drain(settings, edition.id)
    mailbox.wait_for(delivered)
    mailbox.reply_for.clear()  # the relay's policy is fixed
    with engine.begin() as conn:  # the moment after the last reply is recorded, before the drain says "complete"
        conn.execute(
            update(Edition).where(Edition.id == edition.id).values(send_status=EditionStatus.sending, completed_at=None)
        )

    with engine.connect() as retrying, ThreadPoolExecutor(1) as pool:
        transaction = retrying.begin()  # the admin's retry, caught after it reopened the failed row
        assert control.reopen_failed(retrying, edition.id, now=utcnow(), expiry=timedelta(hours=1)) == 1
        finishing = pool.submit(control.finish_if_done, engine, edition.id, now=utcnow())
        _wait_for_a_lock_wait(engine)
        transaction.commit()
        assert finishing.result(timeout=30) is False, "the reopened reader keeps the edition open"

    with engine.connect() as conn:
        assert conn.scalar(select(Edition.send_status).where(Edition.id == edition.id)) == EditionStatus.sending
    drain(settings, edition.id)  # the retry's drain finds the edition still sending
    assert len(mailbox.wait_for(blocked)) == 1
    with engine.connect() as conn:
        assert conn.scalar(select(Edition.send_status).where(Edition.id == edition.id)) == EditionStatus.complete
