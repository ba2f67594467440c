"""Bulk import of subscribers from CSV, streamed row by row; bad rows are reported, never half-stored."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from typing import Iterable, TextIO

from sqlalchemy.orm import Session

from service.addresses import normalise_address
from service.errors import InvalidInput
from service.models import MailingList
from service.subscriptions import ConsentContext, Notifier, add_subscriptions, clean_name, clean_timezone

BATCH = 500


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


def _rows(handle: TextIO) -> Iterable[tuple[int, dict[str, str]]]:
    """Data rows with their line numbers; needs an `email` column."""
    reader = csv.DictReader(handle)
    columns = {(name or "").strip().lower() for name in reader.fieldnames or []}
    if "email" not in columns:
        raise InvalidInput("The CSV needs a header row with an 'email' column (and optionally name, timezone).")
    for row in reader:
        cleaned = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        yield reader.line_num, cleaned


def import_csv(
    session: Session, handle: TextIO, *, mailing_list: MailingList, confirmed: bool, notifier: Notifier
) -> ImportReport:
    """Import rows in batches; an address already known is never duplicated, an unsubscribed one is left alone."""
    report = ImportReport()
    consent = ConsentContext(source="import")
    pending_confirmation: list[int] = []
    for line, row in _rows(handle):
        try:
            email = normalise_address(row.get("email", ""))
            name = clean_name(row.get("name"))
            zone = clean_timezone(row.get("timezone"), default=mailing_list.timezone)
        except InvalidInput as error:
            report.skipped.append((line, error.message))
            continue
        result = add_subscriptions(session, email=email, lists=[mailing_list], consent=consent, name=name,
                                   timezone=zone, confirmed=confirmed, restart_unsubscribed=False)
        report.suppressed += result.suppressed
        report.already += len(result.already)
        report.kept_unsubscribed += len(result.kept_unsubscribed)
        report.added += len(result.needs_confirmation) + len(result.confirmed_now)
        if result.needs_confirmation:
            pending_confirmation.append(result.subscriber_id)
        if report.rows % BATCH == 0:
            _commit(session, pending_confirmation, mailing_list, notifier)
    _commit(session, pending_confirmation, mailing_list, notifier)
    return report


def _commit(session: Session, pending: list[int], mailing_list: MailingList, notifier: Notifier) -> None:
    """Commit a batch, then ask the new unconfirmed readers to confirm."""
    session.commit()
    for subscriber_id in pending:
        notifier.confirmation(subscriber_id, [mailing_list.id])
    pending.clear()
