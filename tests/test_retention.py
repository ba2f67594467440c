"""Ledger retention on SQLite and PostgreSQL: an old finished edition is rolled up, its delivery rows deleted in
batches, and every figure people see (admin, API, `editions status`, /metrics) stays what it was; editions still
sending or not old enough are untouched; a prune stopped halfway finishes on the next run without counting twice;
bounces survive; beat's task runs through a real Celery worker on real Redis."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner

from service.bounces import store as bounce_store
from service.bounces.models import Bounce
from service.core.addresses import address_hash
from service.core.celery_app import beat_schedule
from service.core.config import ConfigError, load_settings
from service.core.db import engine_for
from service.core.errors import InvalidInput
from service.delivery import control, reply_counts, retention
from service.delivery.schedule import send_now
from service.delivery.sender import drain
from service.lists.rules import create_list
from service.models import Delivery, Edition, EditionStatus, Subscriber, utcnow
from service.ops import migrate
from service.ops.monitoring import figures, metrics
from service.ops.monitoring.failures import recent_failures
from tests.conftest import RUN_ID, _drop_postgres_database, _fresh_postgres_database
from tests.support.edition_stories import day_of_stories
from tests.support.readers import add_readers

READERS = 12
OLD = timedelta(days=100)


def _edition(db, settings, mailbox, slug: str, *, finish: bool, age: timedelta) -> tuple[int, list[str]]:
    """READERS readers sent to for real: one 5.1.1, one 5.7.1, one 4xx (expired when finished); dated back by `age`."""
    engine = engine_for(settings.effective_database_url)
    mailing_list = create_list(db, slug=slug, name=slug.title(), categories=["World News"])
    readers = add_readers(engine, mailing_list.id, READERS, prefix=f"{slug}-")
    mailbox.reply_for.update(
        {
            readers[0]: "550 5.1.1 No such user here",
            readers[1]: "550 5.7.1 Rejected by policy: sender not authorised",
            readers[2]: "451 4.3.0 Try again later",
        }
    )
    now = utcnow()
    edition, planned = send_now(settings, db, mailing_list, now.date(), now)
    assert planned == READERS
    drain(settings, edition.id)
    if finish:  # past its expiry the 4xx reader fails for good and the edition is complete
        assert edition.id in control.sweep(engine, now=now + timedelta(hours=13)).completed
    with engine.begin() as conn:
        conn.execute(
            update(Edition)
            .where(Edition.id == edition.id)
            .values(
                edition_date=edition.edition_date - age,
                send_started_at=now - age,
                completed_at=(now + timedelta(hours=13) - age) if finish else None,
            )
        )
    return edition.id, readers


def _rows(settings, edition_id: int) -> int:
    """Ledger rows an edition has left."""
    with engine_for(settings.effective_database_url).connect() as conn:
        return conn.scalar(select(func.count()).select_from(Delivery).where(Delivery.edition_id == edition_id))


def _bounce(db, edition_id: int, email: str, kind: str) -> int:
    """A bounce or complaint matched to the reader's delivery, as a VERP match stores it."""
    delivery_id, subscriber_id = db.execute(
        select(Delivery.id, Delivery.subscriber_id)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.edition_id == edition_id, Subscriber.email == email)
    ).one()
    bounce_id = bounce_store.add(
        db,
        received_at=utcnow(),
        kind=kind,
        status="5.2.2" if kind != "complaint" else None,
        recipient_hash=address_hash(email),
        delivery_id=delivery_id,
        subscriber_id=subscriber_id,
        edition_id=edition_id,
        matched_by="verp",
        source="cli",
        message_sha256=f"{kind}{delivery_id}".ljust(64, "0"),
    )
    db.commit()
    return bounce_id


NOW = utcnow()  # figures of an edition still sending move with the clock: every look uses the same moment


def _seen(db, settings, edition_ids):
    """Everything people see of these editions: figures, `editions status`, the reply counter, /metrics' counters."""
    db.expire_all()
    now = NOW
    with engine_for(settings.effective_database_url).connect() as conn:
        statuses = {row["id"]: (row["planned"], row["counts"]) for row in control.statuses(conn)}
    text = metrics.render(settings).decode()
    counters = sorted(
        line
        for line in text.splitlines()
        if line.startswith(("newsletter_smtp_replies_total", "newsletter_bounces_total"))
    )
    return figures.figures_for(db, edition_ids, now=now), statuses, figures.smtp_reply_classes(db), counters


@pytest.fixture
def three_editions(db, settings, world_news, mailbox):
    """An old finished edition (with a bounce and a complaint), an old one still sending, a recent finished one."""
    day_of_stories(db)
    old, old_readers = _edition(db, settings, mailbox, "old", finish=True, age=OLD)
    recent, _ = _edition(db, settings, mailbox, "recent", finish=True, age=timedelta(days=10))
    sending, _ = _edition(db, settings, mailbox, "sending", finish=False, age=OLD)  # last: no sweep expires it
    bounce = _bounce(db, old, old_readers[3], "soft")
    _bounce(db, old, old_readers[4], "complaint")
    return old, sending, recent, old_readers, bounce


def test_prune_rolls_up_old_finished_editions_only_and_every_figure_stays(db, settings, three_editions):
    old, sending, recent, old_readers, bounce = three_editions
    engine = engine_for(settings.effective_database_url)
    before = _seen(db, settings, [old, sending, recent])
    assert before[0][old].failed_by_kind == {"no_such_user": 1, "policy": 1, "expired": 1}
    assert (before[0][old].sent, before[0][old].bounced, before[0][old].complained) == (9, 1, 1)
    assert before[0][sending].pending == 1 and before[0][sending].send_status == EditionStatus.sending

    dry = retention.prune(engine, now=utcnow(), retention_days=90, batch_size=5, dry_run=True)
    assert [(p.edition_id, p.rows) for p in dry.editions] == [(old, READERS)] and _rows(settings, old) == READERS

    report = retention.prune(engine, now=utcnow(), retention_days=90, batch_size=5)
    assert [(p.edition_id, p.list_slug, p.rows, p.rolled_up) for p in report.editions] == [(old, "old", READERS, True)]
    assert report.finished and report.cutoff == utcnow().date() - timedelta(days=90)
    assert (_rows(settings, old), _rows(settings, sending), _rows(settings, recent)) == (0, READERS, READERS)
    assert _seen(db, settings, [old, sending, recent]) == before

    kept = db.get(Bounce, bounce)
    assert kept is not None and kept.delivery_id is None and kept.edition_id == old, "the bounce stays, unlinked"
    reader = db.scalar(select(Subscriber.id).where(Subscriber.email == old_readers[3]))
    assert [b.id for b in bounce_store.for_subscriber(db, reader, address_hash(old_readers[3]))] == [bounce]

    again = retention.prune(engine, now=utcnow(), retention_days=90, batch_size=5)
    assert again.editions == [] and _seen(db, settings, [old, sending, recent]) == before
    with pytest.raises(InvalidInput, match="rolled up"):
        control.retry_failed(engine, old, now=utcnow(), expiry=timedelta(hours=12))
    assert retention.prune(engine, now=utcnow(), retention_days=0, batch_size=5).cutoff is None


def test_a_prune_stopped_between_batches_finishes_next_run_without_counting_twice(db, settings, three_editions):
    old, sending, recent, _, _ = three_editions
    engine = engine_for(settings.effective_database_url)
    before = _seen(db, settings, [old, sending, recent])
    stopped = retention.prune(engine, now=utcnow(), retention_days=90, batch_size=5, max_seconds=0)
    assert not stopped.finished and stopped.editions[0].rolled_up and _rows(settings, old) == READERS
    with engine.begin() as conn:  # the one batch that committed before the process died
        first = conn.scalar(select(func.min(Delivery.id)).where(Delivery.edition_id == old))
        conn.execute(delete(Delivery).where(Delivery.edition_id == old, Delivery.id < first + 5))
    assert _rows(settings, old) == READERS - 5
    assert _seen(db, settings, [old, sending, recent]) == before, "the roll-up wins over the rows left"

    rerun = retention.prune(engine, now=utcnow(), retention_days=90, batch_size=5)
    assert [(p.edition_id, p.rows, p.rolled_up) for p in rerun.editions] == [(old, READERS - 5, False)]
    assert _rows(settings, old) == 0 and _seen(db, settings, [old, sending, recent]) == before


def test_ledger_prune_cli_says_what_it_rolled_up_and_deleted(db, settings, three_editions):
    from service.cli import app

    old = three_editions[0]
    dry = CliRunner().invoke(app, ["ledger", "prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"edition {old} (old, " in dry.output and f"{READERS} delivery rows to delete" in dry.output
    assert _rows(settings, old) == READERS
    done = CliRunner().invoke(app, ["ledger", "prune"])
    assert done.exit_code == 0, done.output
    assert f"edition {old} (old, " in done.output and f"1 editions, {READERS} delivery rows deleted" in done.output
    assert "retention 90 days" in done.output and _rows(settings, old) == 0


def test_beat_prunes_daily_through_a_real_worker(db, settings, celery_worker, three_editions):
    from service.tasks import prune_ledger

    old, sending, recent, _, _ = three_editions
    entry = beat_schedule(settings)["prune-ledger"]
    assert entry["task"] == "service.tasks.prune_ledger" and (entry["schedule"].hour, entry["schedule"].minute) == (
        {3},
        {30},
    )
    assert "prune-ledger" not in beat_schedule(settings.model_copy(update={"delivery_retention_days": 0}))
    before = _seen(db, settings, [old, sending, recent])
    prune_ledger.delay()
    deadline = time.monotonic() + 30
    while _rows(settings, old) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _rows(settings, old) == 0 and _rows(settings, sending) == READERS
    assert _seen(db, settings, [old, sending, recent]) == before


def test_the_readers_page_says_its_history_covers_the_retention_window(db, settings, client, three_editions):
    from tests.support.admin import signed_in

    old_readers = three_editions[3]
    retention.prune(engine_for(settings.effective_database_url), now=utcnow(), retention_days=90, batch_size=5)
    reader = db.scalar(select(Subscriber.id).where(Subscriber.email == old_readers[3]))
    page = signed_in(client, db).get(f"/admin/subscribers/{reader}")
    assert page.status_code == 200
    assert "The last 90 days only: older deliveries are kept as their editions' figures" in page.text
    assert "No edition has been sent to this reader in the last 90 days." in page.text
    assert "5.2.2" in page.text, "the reader's bounce is still listed"


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("DELIVERY_RETENTION_DAYS", "-1", "DELIVERY_RETENTION_DAYS: Input should be greater than or equal to 0"),
        ("DELIVERY_RETENTION_DAYS", "ninety", "DELIVERY_RETENTION_DAYS: Input should be a valid integer"),
        ("DELIVERY_PRUNE_BATCH_SIZE", "10", "DELIVERY_PRUNE_BATCH_SIZE: Input should be greater than or equal to 100"),
        ("DELIVERY_PRUNE_AT", "25:00", "DELIVERY_PRUNE_AT: must be a time of day as HH:MM (UTC), e.g. '03:30'"),
    ],
)
def test_a_bad_retention_setting_is_one_clear_line(monkeypatch, tmp_path, name, value, problem):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as raised:
        load_settings(data_dir=tmp_path)
    assert str(raised.value).startswith(problem) and "\n" not in str(raised.value)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_migration_0011_goes_down_and_up(tmp_path, kind):
    url = (
        f"sqlite:///{tmp_path / 'm.db'}"
        if kind == "sqlite"
        else _fresh_postgres_database(f"nl_rollup_{RUN_ID}_{id(tmp_path)}")
    )
    try:
        migrate.upgrade(url)
        command.downgrade(migrate.alembic_config(url), "0010")
        with engine_for(url).connect() as conn:
            assert "edition_rollups" not in conn.dialect.get_table_names(conn)
        migrate.upgrade(url)
        with engine_for(url).connect() as conn:
            assert "edition_rollups" in conn.dialect.get_table_names(conn)
            assert "ix_bounces_delivery_id" in {i["name"] for i in conn.dialect.get_indexes(conn, "bounces")}
    finally:
        engine_for(url).dispose()
        if kind == "postgresql":
            _drop_postgres_database(url.rsplit("/", 1)[1])


def _reply_classes_of_rows(db) -> dict[str, int]:
    """What the reply counter must say when nothing is pruned: every tried ledger row, classified here from scratch."""
    found = dict.fromkeys(("2xx", "4xx", "5xx", "none"), 0)
    for code, status in db.execute(select(Delivery.smtp_code, Delivery.status)):
        if code is None:
            found["none"] += status == "failed"
        else:
            found["2xx" if code < 300 else "4xx" if code < 500 else "5xx"] += 1
    return found


def test_the_reply_counter_reads_a_finished_editions_rows_once(db, settings, mailbox, three_editions):
    """A scrape must not read every ledger row (90 million at a million readers a day): finished editions are
    counted once by the sweeper; an edition reopened by "retry failed" is read live again, then counted again."""
    old, sending, recent, _, _ = three_editions
    engine = engine_for(settings.effective_database_url)
    assert figures.smtp_reply_classes(db) == _reply_classes_of_rows(db)
    assert sending not in control.sweep(engine, now=utcnow()).counted  # only finished editions are counted
    with engine.connect() as conn:
        assert reply_counts.uncounted(conn) == [] and reply_counts.counted_totals(conn)[1] == {old, recent}
    assert control.sweep(engine, now=utcnow()).counted == []  # once
    counted = figures.smtp_reply_classes(db)
    assert counted == _reply_classes_of_rows(db) and counted["2xx"] > 0

    with engine.begin() as conn:  # rows of a counted edition are not read again: changing them changes nothing
        conn.execute(
            update(Delivery).where(Delivery.edition_id == recent, Delivery.smtp_code == 250).values(smtp_code=421)
        )
    db.expire_all()
    assert figures.smtp_reply_classes(db) == counted != _reply_classes_of_rows(db)

    assert control.retry_failed(engine, recent, now=utcnow(), expiry=timedelta(hours=12)) > 0
    db.expire_all()
    assert figures.smtp_reply_classes(db) == _reply_classes_of_rows(db) != counted  # open again: read live

    drain(settings, recent)
    assert recent in control.sweep(engine, now=utcnow() + timedelta(hours=13)).counted  # complete again
    db.expire_all()
    assert figures.smtp_reply_classes(db) == _reply_classes_of_rows(db)
    text = metrics.render(settings).decode()
    assert f'newsletter_smtp_replies_total{{class="2xx"}} {float(_reply_classes_of_rows(db)["2xx"])}' in text


def test_the_latest_failures_come_newest_edition_first_from_the_last_two_weeks(db, settings, world_news, mailbox):
    """The dashboard's failures list reads edition by edition (never the whole ledger): newest first, two weeks back;
    an edition's own page still lists all of its failures, however old."""
    day_of_stories(db)
    older, _ = _edition(db, settings, mailbox, "older", finish=True, age=timedelta(days=20))
    earlier, _ = _edition(db, settings, mailbox, "earlier", finish=True, age=timedelta(days=3))
    latest, readers = _edition(db, settings, mailbox, "latest", finish=True, age=timedelta(days=1))
    failures = recent_failures(db, limit=10)
    assert [f.edition_id for f in failures] == [latest] * 3 + [earlier] * 3  # 5.1.1, 5.7.1, and the expired 4xx
    assert [f.email for f in failures[:3]] == [readers[2], readers[1], readers[0]]  # newest reader first
    assert [f.email for f in recent_failures(db, limit=2)] == [readers[2], readers[1]]
    assert {f.smtp_code for f in recent_failures(db, edition_id=older)} == {550, 451}
