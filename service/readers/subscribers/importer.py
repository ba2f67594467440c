"""Bulk import of subscribers from CSV: rows checked in Python, stored with set-based writes a batch at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from sqlalchemy.orm import Session

from service.core.addresses import normalise_address
from service.core.errors import InvalidInput
from service.core.fields import clean_name, clean_timezone
from service.models import MailingList, utcnow
from service.readers.subscribers.csv_rows import data_rows
from service.readers.subscribers.import_batch import CheckedRow, ImportBatch, ImportReport

BATCH = 5000  # rows per transaction: big enough for set-based writes, small enough to show progress
CONFIRMATION_BATCH = 200  # subscribers per confirmation task (one SMTP connection each)


class BulkNotifier(Protocol):
    """Whoever carries confirmation emails for many readers of one list (a Celery task per chunk in production)."""

    def confirmations(self, subscriber_ids: Sequence[int], list_id: int) -> None: ...


def import_csv(
    session: Session,
    lines: Iterable[str],
    *,
    mailing_list: MailingList,
    confirmed: bool,
    notifier: BulkNotifier,
    reason: str = "",
    on_batch: Callable[[ImportReport], None] | None = None,
    batch_size: int = BATCH,
) -> ImportReport:
    """Import rows in committed batches; a known address is never duplicated nor mailed twice, a leaver left alone.

    `on_batch` sees the report before each commit, so a job row can record progress in the same transaction.
    """
    report = ImportReport()
    batch = ImportBatch(session, mailing_list, confirmed=confirmed, reason=reason, started=utcnow(), report=report)
    pending: list[CheckedRow] = []
    seen: dict[str, int] = {}  # this batch's addresses: a repeat inside one batch is caught before any write
    try:
        for line, row, text in data_rows(lines):
            if isinstance(row, str):
                report.reject(line, row, text)
                continue
            try:
                email = normalise_address(row.get("email", ""))
                name = clean_name(row.get("name"))
                zone = clean_timezone(row.get("timezone"), default=mailing_list.timezone)
            except InvalidInput as error:
                report.reject(line, error.message, text)
                continue
            if email in seen:
                report.reject(line, f"{email} appears earlier in this file; imported once.", text)
                continue
            seen[email] = line
            pending.append(CheckedRow(line, email, name, zone, text))
            if len(pending) >= batch_size:
                _flush(session, batch, pending, mailing_list, notifier, on_batch)
                seen.clear()
    except InvalidInput as error:
        _flush(session, batch, pending, mailing_list, notifier, on_batch)
        if not report.rows:
            raise
        raise InvalidInput(
            f"{error.message} The rows before it were imported ({report.rows} read, {report.added} "
            "added); importing the fixed file again duplicates nobody and mails nobody twice."
        ) from None
    _flush(session, batch, pending, mailing_list, notifier, on_batch)
    return report


def _flush(
    session: Session,
    batch: ImportBatch,
    pending: list[CheckedRow],
    mailing_list: MailingList,
    notifier: BulkNotifier,
    on_batch: Callable[[ImportReport], None] | None,
) -> None:
    """Write and commit a batch, then ask its new unconfirmed readers to confirm, a chunk per task."""
    to_confirm = batch.write(pending) if pending else []
    pending.clear()
    if on_batch is not None:
        on_batch(batch.report)
    session.commit()
    for start in range(0, len(to_confirm), CONFIRMATION_BATCH):
        notifier.confirmations(to_confirm[start : start + CONFIRMATION_BATCH], mailing_list.id)
