"""The one edition service the CLI, tasks and (later) the admin UI share: send a test, send now, retry failed."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from service.core.db import engine_for
from service.core.errors import InvalidInput
from service.delivery import actions
from service.models import Delivery, Edition, EditionStatus, utcnow
from service.tasks import start_drains
from tests.support.edition_stories import day_of_stories
from tests.support.readers import add_readers, wait_until_complete


def test_a_test_send_reaches_one_address_and_records_nothing(db, settings, world_news, mailbox):
    day_of_stories(db, 3)
    sent_to = actions.send_test(db, settings, world_news, utcnow().date(), "  Editor@Example.COM ")

    [test] = mailbox.wait_for("editor@example.com")
    assert sent_to == "editor@example.com"
    assert test.message["Subject"].startswith("[Test] World News daily: ")
    assert "/unsubscribe/" in test.message["List-Unsubscribe"]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Edition)) == 0, "a test freezes no edition"
    assert db.scalar(select(func.count()).select_from(Delivery)) == 0
    with pytest.raises(InvalidInput):
        actions.send_test(db, settings, world_news, utcnow().date(), "not an address")


def test_retry_failed_sends_to_the_refused_readers_once_the_cause_is_fixed(
    db, settings, world_news, celery_worker, mailbox
):
    engine = engine_for(settings.effective_database_url)
    readers = add_readers(engine, world_news.id, 4, prefix="retry")
    blocked, unknown = readers[1], readers[2]
    mailbox.reply_for[blocked] = "550 5.7.1 Message rejected by policy"
    mailbox.reply_for[unknown] = "550 5.1.1 No such user"
    day_of_stories(db, 3)

    started = actions.send_now(db, settings, world_news, utcnow().date(), start_drains)
    assert started is not None and started.planned == 4
    wait_until_complete(engine, started.edition.id)
    assert Counter(m.rcpt_tos[0] for m in mailbox.received) == {readers[0]: 1, readers[3]: 1}

    mailbox.reply_for.clear()  # the relay's policy was fixed; the unknown user stays unknown
    assert actions.retry_failed(settings, started.edition.id, start_drains) == 1, "never an unknown address"
    wait_until_complete(engine, started.edition.id)

    got = Counter(m.rcpt_tos[0] for m in mailbox.received)
    assert got == {readers[0]: 1, readers[3]: 1, blocked: 1}, "the blocked reader once, nobody twice"
    db.expire_all()
    assert db.get(Edition, started.edition.id).send_status == EditionStatus.complete
    assert actions.retry_failed(settings, started.edition.id, start_drains) == 0


def test_pause_resume_and_cancel_refuse_what_does_not_apply(db, settings, world_news):
    day_of_stories(db, 2)
    started = actions.send_now(db, settings, world_news, utcnow().date(), lambda edition_id, count: None)
    assert started is not None
    edition_id = started.edition.id
    with pytest.raises(InvalidInput, match="cannot be resumed"):
        actions.resume(settings, edition_id, lambda edition_id, count: None)
    actions.pause(settings, edition_id)
    with pytest.raises(InvalidInput, match="cannot be paused"):
        actions.pause(settings, edition_id)
    resumed: list[int] = []
    actions.resume(settings, edition_id, lambda edition_id, count: resumed.append(edition_id))
    assert resumed == [edition_id], "resuming sets workers on it again"
    actions.cancel(settings, edition_id)
    with pytest.raises(InvalidInput, match="only a started edition"):
        actions.retry_failed(settings, edition_id, lambda edition_id, count: None)
