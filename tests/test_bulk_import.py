"""Background CSV imports as an admin runs them: a stored upload, a real worker, real SMTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service import tasks
from service.admin.models import AuditEntry, ImportJob, ImportStatus
from service.core.errors import InvalidInput
from service.mail import suppressions
from service.models import ConsentEvent, Subscriber, Subscription
from service.readers import tasks as reader_tasks
from service.readers.subscribers.confirmations import send_confirmations
from service.readers.subscribers.csv_rows import utf8_lines
from service.readers.subscribers.importer import CONFIRMATION_BATCH, import_csv
from service.readers.subscribers.jobs import (
    create_import_job,
    get_import_job,
    import_progress,
    imports_dir,
    run_import_job,
)
from service.readers.subscriptions.consent import ConsentContext
from service.readers.subscriptions.joining import add_subscriptions
from service.readers.subscriptions.preferences import unsubscribe
from tests.support.csv_samples import BAD_LINES, EXCEL_CSV, GOOD
from tests.support.web import statuses

CSV = EXCEL_CSV.encode()
REASON = "moved from our old provider; its consent records are archived"


class Chunks:
    """A BulkNotifier that keeps the chunks it is handed (the importer is under test, not the broker)."""

    def __init__(self):
        self.chunks: list[tuple[list[int], int]] = []

    def confirmations(self, subscriber_ids, list_id):
        self.chunks.append((list(subscriber_ids), list_id))


@pytest.fixture
def history(db, world_news):
    """Addresses the service already knows: confirmed, awaiting confirmation, unsubscribed, suppressed."""
    consent = ConsentContext(source="form", ip="198.51.100.7")
    add_subscriptions(
        db, email="confirmed-before@example.com", lists=[world_news], consent=consent, name="Kept Name", confirmed=True
    )
    add_subscriptions(db, email="pending-before@example.com", lists=[world_news], consent=consent)
    left = add_subscriptions(db, email="left-before@example.com", lists=[world_news], consent=consent, confirmed=True)
    db.commit()
    assert left.subscriber_id is not None
    unsubscribe(db, subscriber_id=left.subscriber_id, list_id=world_news.id, consent=consent)
    suppressions.suppress(db, "bounced@example.com", "hard bounce")
    db.commit()


def wait_until_finished(db, job_id: int, timeout: float = 30.0) -> ImportJob:
    """Poll the job row as the progress bar does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.expire_all()
        job = get_import_job(db, job_id)
        db.commit()
        if job.status in (ImportStatus.done, ImportStatus.failed):
            return job
        time.sleep(0.1)
    raise AssertionError(f"import job {job_id} did not finish")


def assert_report(job: ImportJob, *, already: int) -> None:
    """The counts of the CSV above, and every rejected row named by its line."""
    assert job.status == ImportStatus.done, job.error
    assert (job.rows, job.already, job.kept_unsubscribed, job.suppressed, job.skipped) == (11, already, 1, 1, 4)
    reported = {line: reason for line, reason, _ in job.rejected}
    assert set(reported) == set(BAD_LINES), reported
    for line, words in BAD_LINES.items():
        assert words in reported[line], reported[line]


def test_an_import_job_asks_each_new_address_to_confirm_through_the_worker(
    db, settings, history, mailbox, celery_worker
):
    job = create_import_job(
        db,
        settings,
        list_slug="world-news",
        filename="people.csv",
        source=io.BytesIO(CSV),
        confirmed=False,
        reason="",
        created_by="ann@example.org",
        ip="203.0.113.9",
    )
    assert job.status == ImportStatus.queued and job.total_bytes == len(CSV) and Path(job.path).exists()
    assert import_progress(job) == 0.0
    tasks.import_subscribers.delay(job.id)
    job = wait_until_finished(db, job.id)
    assert_report(job, already=2)  # confirmed before, and awaiting confirmation (not mailed twice)
    assert job.added == 3 and import_progress(job) == 1.0 and job.read_bytes == len(CSV)
    assert not Path(job.path).exists(), "the upload is deleted once imported"

    for address in GOOD:
        [confirmation] = mailbox.wait_for(address)
        assert confirmation.message["Subject"].startswith("Please confirm")
        assert statuses(db, address) == {"world-news": "unconfirmed"}
    assert statuses(db, "confirmed-before@example.com") == {"world-news": "confirmed"}
    assert statuses(db, "left-before@example.com") == {"world-news": "unsubscribed"}, "an unsubscribe stands"
    assert db.scalar(select(Subscriber.name).where(Subscriber.email == "confirmed-before@example.com")) == "Kept Name"
    assert db.scalar(select(Subscriber.timezone).where(Subscriber.email == "good1@example.com")) == "Europe/Paris"
    assert db.scalar(select(Subscriber.timezone).where(Subscriber.email == "good2@example.com")) == "Europe/London"
    for address in ("not-an-address", "crlf@example.com", "bounced@example.com", "badzone@example.com"):
        assert statuses(db, address) == {}
    for address in ("pending-before@example.com", "left-before@example.com", "bounced@example.com"):
        mailbox.assert_nothing_for(address)
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "subscribers.import"))
    assert (entry.actor, entry.ip, entry.object_id) == ("ann@example.org", "203.0.113.9", str(job.id))
    assert entry.details == {
        "list": "world-news",
        "filename": "people.csv",
        "confirmed": False,
        "reason": "",
        "bytes": len(CSV),
    }


def test_a_pre_confirmed_import_needs_a_reason_and_mails_nobody(db, settings, history, mailbox):
    before = set(imports_dir(settings).iterdir())
    for empty in ("", "   "):
        with pytest.raises(InvalidInput, match="needs a reason"):
            create_import_job(
                db,
                settings,
                list_slug="world-news",
                filename="people.csv",
                source=io.BytesIO(CSV),
                confirmed=True,
                reason=empty,
                created_by="ann@example.org",
            )
    assert set(imports_dir(settings).iterdir()) == before and db.scalar(select(func.count(ImportJob.id))) == 0

    job = create_import_job(
        db,
        settings,
        list_slug="world-news",
        filename="people.csv",
        source=io.BytesIO(CSV),
        confirmed=True,
        reason=REASON,
        created_by="ann@example.org",
    )
    job = run_import_job(settings, job.id, notifier=reader_tasks.CeleryNotifier())
    assert_report(job, already=1)
    assert job.added == 4, "three new addresses, and the one awaiting confirmation"
    for address in [*GOOD, "pending-before@example.com", "confirmed-before@example.com"]:
        assert statuses(db, address) == {"world-news": "confirmed"}
    assert statuses(db, "left-before@example.com") == {"world-news": "unsubscribed"}
    events = db.scalars(
        select(ConsentEvent).join(Subscription).join(Subscriber).where(Subscriber.email == "good1@example.com")
    ).all()
    assert [(e.action, e.source, e.details) for e in events] == [("confirmed", "import", {"reason": REASON})]
    pending = db.scalar(select(Subscription).join(Subscriber).where(Subscriber.email == "pending-before@example.com"))
    assert pending.source == "import" and pending.confirmed_at is not None
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "subscribers.import"))
    assert entry.details["confirmed"] is True and entry.details["reason"] == REASON
    mailbox.assert_nothing_for("good1@example.com")
    assert not mailbox.received, "a pre-confirmed import sends no email at all"


def test_running_the_same_file_again_adds_and_mails_nobody(db, settings, history):
    first = Chunks()
    import_csv(db, utf8_lines(io.BytesIO(CSV)), mailing_list=history_list(db), confirmed=False, notifier=first)
    stored = db.scalar(select(func.count(Subscriber.id)))
    again = Chunks()
    report = import_csv(db, utf8_lines(io.BytesIO(CSV)), mailing_list=history_list(db), confirmed=False, notifier=again)
    assert report.added == 0 and report.already == 5 and not again.chunks
    assert db.scalar(select(func.count(Subscriber.id))) == stored
    assert sum(len(ids) for ids, _ in first.chunks) == 3


def history_list(db):
    """The demo list, as stored."""
    from service.lists.rules import get_list

    return get_list(db, "world-news")


def test_an_upload_over_the_limit_is_refused_and_nothing_is_kept(db, settings, world_news):
    small = settings.model_copy(update={"import_max_bytes": 100})
    before = set(imports_dir(settings).iterdir())
    with pytest.raises(InvalidInput, match="larger than the 100 bytes an import may be"):
        create_import_job(
            db,
            small,
            list_slug="world-news",
            filename="big.csv",
            source=io.BytesIO(CSV),
            confirmed=False,
            reason="",
            created_by="ann@example.org",
        )
    assert set(imports_dir(settings).iterdir()) == before, "the partial file is removed"
    assert db.scalar(select(func.count(ImportJob.id))) == 0
    assert db.scalar(select(func.count(AuditEntry.id))) == 0


def test_a_big_file_reports_progress_each_batch_and_confirmations_go_in_chunks(db, settings, world_news):
    rows = 12_000
    data = ("email,name\n" + "".join(f"bulk{n}@example.com,Reader {n}\n" for n in range(rows))).encode()
    job = create_import_job(
        db,
        settings,
        list_slug="world-news",
        filename="big.csv",
        source=io.BytesIO(data),
        confirmed=False,
        reason="",
        created_by="cli",
    )
    seen: list[tuple[str, int, int, float]] = []
    notifier = Chunks()
    job = run_import_job(
        settings,
        job.id,
        notifier=notifier,
        on_progress=lambda j: seen.append((j.status, j.read_bytes, j.rows, import_progress(j))),
    )
    assert job.status == ImportStatus.done and job.added == rows
    running = [entry for entry in seen if entry[0] == ImportStatus.running]
    assert len(running) >= 3, seen
    assert [entry[1] for entry in running] == sorted(entry[1] for entry in running), "read_bytes only grows"
    assert 0 < running[0][3] < 1 and seen[-1][3] == 1.0
    sizes = [len(ids) for ids, _ in notifier.chunks]
    assert sum(sizes) == rows and max(sizes) == CONFIRMATION_BATCH, "one task per chunk, never one per address"
    assert {list_id for _, list_id in notifier.chunks} == {world_news.id}


def test_a_failed_job_says_why_and_keeps_nothing_on_disk(db, settings, world_news):
    job = create_import_job(
        db,
        settings,
        list_slug="world-news",
        filename="wrong.csv",
        source=io.BytesIO(b"mail,name\nreader@example.com,Reader\n"),
        confirmed=False,
        reason="",
        created_by="cli",
    )
    job = run_import_job(settings, job.id, notifier=Chunks())
    assert job.status == ImportStatus.failed and "needs a header row with an 'email' column" in job.error
    assert not Path(job.path).exists() and import_progress(job) == 1.0


def test_one_smtp_connection_sends_a_batch_and_skips_who_moved_on(db, settings, world_news, mailbox):
    ids = []
    for address in ("one@example.com", "two@example.com", "three@example.com", "gone@example.com"):
        ids.append(add_subscriptions(db, email=address, lists=[world_news], consent=ConsentContext()).subscriber_id)
    db.commit()
    suppressions.suppress(db, "gone@example.com", "complaint")
    db.commit()
    assert send_confirmations(settings, ids, world_news.id) == 3
    for address in ("one@example.com", "two@example.com", "three@example.com"):
        [message] = mailbox.wait_for(address)
        assert message.message["Subject"].startswith("Please confirm")
    mailbox.assert_nothing_for("gone@example.com")


def test_an_oversized_field_or_a_line_that_is_not_utf8_skips_that_row_only(db, settings, world_news):
    rows = [
        b"email,name,notes",
        b"first@example.com,First,ok",
        b"huge@example.com,Huge," + b"x" * 200_000,  # over the csv module's 128 KB field limit
        b"third@example.com,Third,ok",
        "renee@example.com,Ren\u00e9e,latin-1".encode("latin-1"),
        b'"quoted@example.com","Lovelace, Ada",ok',
        b"last@example.com,Last,ok",
    ]
    source = b"\r\n".join(rows) + b"\r\n"
    job = create_import_job(
        db,
        settings,
        list_slug="world-news",
        filename="mixed.csv",
        source=io.BytesIO(source),
        confirmed=True,
        reason=REASON,
        created_by="cli",
    )
    job = run_import_job(settings, job.id, notifier=Chunks())
    assert job.status == ImportStatus.done, job.error
    reported = {line: reason for line, reason, _ in job.rejected}
    assert set(reported) == {3, 5}, reported
    assert "field larger than field limit" in reported[3] and "not UTF-8 text" in reported[5]
    shown = {line: text for line, _, text in job.rejected}  # the row as the file had it, cut, bad bytes made visible
    assert shown[5] == "renee@example.com,Ren\ufffde,latin-1", shown[5]
    assert shown[3].startswith("huge@example.com,Huge,xxx") and len(shown[3]) == 300 and shown[3].endswith("…")
    assert (job.rows, job.added, job.skipped) == (6, 4, 2)
    for address in ("first@example.com", "third@example.com", "quoted@example.com", "last@example.com"):
        assert statuses(db, address) == {"world-news": "confirmed"}, address
    assert statuses(db, "huge@example.com") == statuses(db, "renee@example.com") == {}
