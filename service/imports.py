"""Bulk import of subscribers from CSV, streamed row by row; bad rows are reported, never half-stored."""
from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.addresses import normalise_address
from service.errors import InvalidInput
from service.models import MailingList, Subscriber, Subscription, SubscriptionStatus, as_utc, utcnow
from service.subscriptions import ConsentContext, Notifier, add_subscriptions, clean_name, clean_timezone

BATCH = 500
SOURCE = "import"


@dataclass
class ImportReport:
    """What an import did, for the admin to read."""

    added: int = 0
    already: int = 0
    kept_unsubscribed: int = 0
    suppressed: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Every data row seen."""
        return self.added + self.already + self.kept_unsubscribed + self.suppressed + len(self.skipped)


def utf8_lines(handle: BinaryIO) -> Iterator[str]:
    """The file's lines as text, one at a time, ended by LF, CRLF or CR; a non-UTF-8 line names its number."""
    number = 0
    for chunk in handle:
        for raw in chunk.splitlines(keepends=True):  # also splits old Mac CR-only files
            number += 1
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(f"Line {number} is not UTF-8 text. Save the file as UTF-8 (CSV UTF-8) "
                                   "and import it again.") from None


def _rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Data rows with the line each starts on (a quoted name may span lines); needs an `email` column."""
    reader = csv.reader(lines)
    header = [name.strip().lower() for name in _next(reader, 1) or []]
    if "email" not in header:
        raise InvalidInput("The CSV needs a header row with an 'email' column (and optionally name, timezone).")
    while True:
        line = reader.line_num + 1
        values = _next(reader, line)
        if values is None:
            return
        if any(value.strip() for value in values):
            yield line, {name: value.strip() for name, value in zip(header, values, strict=False)}


def _next(reader: Iterator[list[str]], line: int) -> list[str] | None:
    """The next record, or None at the end; a file csv cannot read stops the import with its line number."""
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as error:
        raise InvalidInput(f"Line {line} cannot be read as CSV: {error}.") from None


def _stored(session: Session, email: str, mailing_list: MailingList) -> Subscription | None:
    """The address's subscription to the list, if it has one."""
    return session.scalar(select(Subscription).join(Subscriber).where(
        Subscriber.email == email, Subscription.list_id == mailing_list.id))


def _seen_earlier(subscription: Subscription | None, started: datetime) -> bool:
    """True when an earlier row of this same import already stored the address (the file repeats it)."""
    return (subscription is not None and subscription.source == SOURCE
            and subscription.status != SubscriptionStatus.unsubscribed
            and as_utc(subscription.subscribed_at) >= started)


def import_csv(
    session: Session, lines: Iterable[str], *, mailing_list: MailingList, confirmed: bool, notifier: Notifier
) -> ImportReport:
    """Import rows in batches; a known address is never duplicated nor mailed twice, an unsubscribed one left alone."""
    report = ImportReport()
    consent = ConsentContext(source=SOURCE)
    started = utcnow()
    pending_confirmation: list[int] = []
    unsaved = 0
    try:
        for line, row in _rows(lines):
            try:
                email = normalise_address(row.get("email", ""))
                name = clean_name(row.get("name"))
                zone = clean_timezone(row.get("timezone"), default=mailing_list.timezone)
            except InvalidInput as error:
                report.skipped.append((line, error.message))
                continue
            stored = _stored(session, email, mailing_list)
            if _seen_earlier(stored, started):
                report.skipped.append((line, f"{email} appears earlier in this file; imported once."))
                continue
            if stored is not None and stored.status == SubscriptionStatus.unconfirmed and not confirmed:
                report.already += 1  # its confirmation email went out before: a re-run mails nobody twice
                continue
            result = add_subscriptions(session, email=email, lists=[mailing_list], consent=consent, name=name,
                                       timezone=zone, confirmed=confirmed, restart_unsubscribed=False)
            report.suppressed += result.suppressed
            report.already += len(result.already)
            report.kept_unsubscribed += len(result.kept_unsubscribed)
            report.added += len(result.needs_confirmation) + len(result.confirmed_now)
            if result.needs_confirmation and result.subscriber_id is not None:
                pending_confirmation.append(result.subscriber_id)
            unsaved += 1
            if unsaved >= BATCH:
                _commit(session, pending_confirmation, mailing_list, notifier)
                unsaved = 0
    except InvalidInput as error:
        _commit(session, pending_confirmation, mailing_list, notifier)
        if not report.rows:
            raise
        raise InvalidInput(f"{error.message} The rows before it were imported ({report.rows} read, {report.added} "
                           "added); importing the fixed file again duplicates nobody and mails nobody twice.") from None
    _commit(session, pending_confirmation, mailing_list, notifier)
    return report


def _commit(session: Session, pending: list[int], mailing_list: MailingList, notifier: Notifier) -> None:
    """Commit a batch, then ask the new unconfirmed readers to confirm."""
    session.commit()
    for subscriber_id in pending:
        notifier.confirmation(subscriber_id, [mailing_list.id])
    pending.clear()
