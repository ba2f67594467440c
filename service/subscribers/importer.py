"""Bulk import of subscribers from CSV: rows checked in Python, stored with set-based writes a batch at a time."""
from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Protocol, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from service.addresses import address_hash, normalise_address
from service.errors import InvalidInput
from service.models import (
    ConsentEvent,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    as_utc,
    utcnow,
)
from service.subscribers.bulk import among as _among
from service.subscribers.bulk import insert_rows as _insert_rows
from service.subscriptions.fields import clean_name, clean_timezone
from service.suppressions import suppressed_among

BATCH = 5000  # rows per transaction: big enough for set-based writes, small enough to show progress
CONFIRMATION_BATCH = 200  # subscribers per confirmation task (one SMTP connection each)
REJECTED_KEPT = 1000  # rejected rows kept by line for the report; the count covers them all
VALUE_KEPT = 300  # characters of a rejected row kept for the report (the row as the file had it)
SOURCE = "import"
NOT_UTF8 = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of bytes that are not UTF-8


class BulkNotifier(Protocol):
    """Whoever carries confirmation emails for many readers of one list (a Celery task per chunk in production)."""

    def confirmations(self, subscriber_ids: Sequence[int], list_id: int) -> None: ...


@dataclass
class ImportReport:
    """What an import did, for the admin to read."""

    added: int = 0
    already: int = 0
    kept_unsubscribed: int = 0
    suppressed: int = 0
    skipped_count: int = 0
    skipped: list[tuple[int, str, str]] = field(default_factory=list)  # (line, why, row), the first REJECTED_KEPT

    @property
    def rows(self) -> int:
        """Every data row seen."""
        return self.added + self.already + self.kept_unsubscribed + self.suppressed + self.skipped_count

    def reject(self, line: int, reason: str, value: str = "") -> None:
        """Count a bad row; keep its line, reason and text while the report is short enough to read."""
        self.skipped_count += 1
        if len(self.skipped) < REJECTED_KEPT:
            self.skipped.append((line, reason, value))


def utf8_lines(handle: BinaryIO | Iterable[bytes]) -> Iterator[str]:
    """The file's lines as text, one at a time, ended by LF, CRLF or CR (bytes that are not UTF-8 kept as surrogates).

    A row carrying such bytes is rejected by line in the report, and the rows around it are imported.
    """
    number = 0
    for chunk in handle:
        for raw in chunk.splitlines(keepends=True):  # also splits old Mac CR-only files
            number += 1
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8", errors="surrogateescape")


class _Tap:
    """Hands lines to the csv reader and keeps those it took since the last call of `taken` (one row's text)."""

    def __init__(self, lines: Iterable[str]):
        self.lines = iter(lines)
        self.kept: list[str] = []

    def __iter__(self) -> _Tap:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.kept.append(line)
        return line

    def taken(self) -> str:
        """The row as the file had it (bytes that are not UTF-8 shown as U+FFFD), cut to VALUE_KEPT characters."""
        text = "".join(self.kept).rstrip("\r\n")
        self.kept.clear()
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return text if len(text) <= VALUE_KEPT else text[:VALUE_KEPT - 1] + "…"


def _rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str] | str, str]]:
    """Data rows with the line each starts on (a quoted name may span lines), or why the row cannot be read; each
    with its text as the file had it."""
    tap = _Tap(lines)
    reader = csv.reader(tap)
    try:
        header = [name.strip().lower() for name in next(reader, [])]
    except csv.Error as error:
        raise InvalidInput(f"The header row cannot be read as CSV: {error}.") from None
    if "email" not in header:
        raise InvalidInput("The CSV needs a header row with an 'email' column (and optionally name, timezone).")
    tap.taken()
    while True:
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # a field over the csv module's limit, say: this row only
            yield line, f"cannot be read as CSV: {error}.", tap.taken()
            continue
        text = tap.taken()
        if any(NOT_UTF8.search(value) for value in values):
            yield line, "not UTF-8 text: save the file as UTF-8 (CSV UTF-8) and import it again.", text
        elif any(value.strip() for value in values):
            yield line, {name: value.strip() for name, value in zip(header, values, strict=False)}, text


@dataclass
class _Row:
    """A checked row waiting for its batch."""

    line: int
    email: str
    name: str
    timezone: str
    text: str  # the row as the file had it, for the report should it be rejected


class _Batch:
    """Writes one batch of checked rows with a handful of set-based statements, whatever its size."""

    def __init__(self, session: Session, mailing_list: MailingList, *, confirmed: bool, reason: str,
                 started: datetime, report: ImportReport):
        self.session, self.list, self.confirmed, self.report = session, mailing_list, confirmed, report
        self.started = started
        self.details = {"reason": reason} if confirmed else {}

    def write(self, rows: list[_Row]) -> list[int]:
        """Store the batch (uncommitted); returns the subscriber ids that now await a confirmation email."""
        suppressed = suppressed_among(self.session, [row.email for row in rows])
        wanted = [row for row in rows if address_hash(row.email) not in suppressed]
        self.report.suppressed += len(rows) - len(wanted)
        if not wanted:
            return []
        known = self._known([row.email for row in wanted])
        now = utcnow()
        new_rows, restart, profiles = [], [], []
        for row in wanted:
            entry = known.get(row.email)
            if entry is None:
                new_rows.append(row)
                continue
            subscriber_id, has_confirmed, status, source, since = entry
            if status is None:
                new_rows.append(row)
                if not has_confirmed:  # only the owner (or an admin) may change a confirmed reader's profile
                    profiles.append({"b_id": subscriber_id, "name": row.name, "timezone": row.timezone})
            elif source == SOURCE and status != SubscriptionStatus.unsubscribed and since >= self.started:
                self.report.reject(row.line, f"{row.email} appears earlier in this file; imported once.", row.text)
            elif status == SubscriptionStatus.confirmed:
                self.report.already += 1
            elif status == SubscriptionStatus.unsubscribed:
                self.report.kept_unsubscribed += 1  # never resubscribe someone who left
            elif not self.confirmed:
                self.report.already += 1  # its confirmation email went out before: nobody is mailed twice
            else:
                restart.append(subscriber_id)
        ids = self._insert_subscribers(new_rows, now)
        self._update_profiles(profiles)
        subscriber_ids = [ids[row.email] for row in new_rows if row.email in ids]
        started = self._insert_subscriptions(subscriber_ids, now) + self._restart(restart, now)
        self._record_consent(started, now)
        self.report.added += len(subscriber_ids) + len(restart)
        return [] if self.confirmed else subscriber_ids

    def _known(self, emails: list[str]) -> dict[str, tuple[int, bool, SubscriptionStatus | None, str, datetime]]:
        """Stored addresses of the batch: id, confirmed anywhere, and their subscription to this list if any."""
        subscribers = {email: sid for email, sid in self.session.execute(
            select(Subscriber.email, Subscriber.id).where(_among(self.session, Subscriber.email, emails)))}
        if not subscribers:
            return {}
        ids = list(subscribers.values())
        confirmed_anywhere = set(self.session.scalars(select(Subscription.subscriber_id).where(
            _among(self.session, Subscription.subscriber_id, ids),
            Subscription.status == SubscriptionStatus.confirmed)))
        here = {sid: (status, source, as_utc(since)) for sid, status, source, since in self.session.execute(
            select(Subscription.subscriber_id, Subscription.status, Subscription.source, Subscription.subscribed_at)
            .where(_among(self.session, Subscription.subscriber_id, ids), Subscription.list_id == self.list.id))}
        return {email: (sid, sid in confirmed_anywhere, *here.get(sid, (None, "", self.started)))
                for email, sid in subscribers.items()}

    def _insert_subscribers(self, rows: list[_Row], now: datetime) -> dict[str, int]:
        """Insert new addresses (a concurrent insert of the same one is ignored) and return every row's id."""
        if not rows:
            return {}
        ids = {email: sid for email, sid in _insert_rows(self.session, cast(Table, Subscriber.__table__), [
            {"email": row.email, "name": row.name, "timezone": row.timezone, "created_at": now} for row in rows],
            unique=["email"], returning=["email", "id"])}
        if missing := [row.email for row in rows if row.email not in ids]:  # stored meanwhile by someone else
            ids.update({email: sid for email, sid in self.session.execute(
                select(Subscriber.email, Subscriber.id).where(_among(self.session, Subscriber.email, missing)))})
        return ids

    def _update_profiles(self, profiles: list[dict[str, object]]) -> None:
        """Known readers nobody has confirmed yet take the file's name and time zone."""
        if profiles:
            table = cast(Table, Subscriber.__table__)
            statement = update(table).where(table.c.id == bindparam("b_id"))
            self.session.connection().execute(statement, profiles)

    def _insert_subscriptions(self, subscriber_ids: list[int], now: datetime) -> list[int]:
        """One subscription per new reader, with the import's consent record; returns the subscription ids."""
        if not subscriber_ids:
            return []
        status = SubscriptionStatus.confirmed if self.confirmed else SubscriptionStatus.unconfirmed
        return [row[0] for row in _insert_rows(self.session, cast(Table, Subscription.__table__), [
            {"subscriber_id": sid, "list_id": self.list.id, "status": status, "subscribed_at": now,
             "confirmed_at": now if self.confirmed else None, "unsubscribed_at": None, "ip": None,
             "user_agent": None, "source": SOURCE, "consent_text_version": ""} for sid in subscriber_ids],
            unique=["subscriber_id", "list_id"], returning=["id"])]

    def _restart(self, subscriber_ids: list[int], now: datetime) -> list[int]:
        """Readers still awaiting confirmation become confirmed by a pre-confirmed import, with a fresh record."""
        if not subscriber_ids:
            return []
        return list(self.session.execute(update(Subscription).where(
            Subscription.list_id == self.list.id,
            _among(self.session, Subscription.subscriber_id, subscriber_ids)).values(
            status=SubscriptionStatus.confirmed, subscribed_at=now, confirmed_at=now, unsubscribed_at=None,
            ip=None, user_agent=None, source=SOURCE, consent_text_version="").returning(Subscription.id)).scalars())

    def _record_consent(self, subscription_ids: list[int], now: datetime) -> None:
        """Append to the consent history of every subscription this batch started."""
        if not subscription_ids:
            return
        action = "confirmed" if self.confirmed else "requested"
        _insert_rows(self.session, cast(Table, ConsentEvent.__table__), [
            {"subscription_id": sid, "action": action, "at": now, "ip": None, "user_agent": None, "source": SOURCE,
             "consent_text_version": "", "details": self.details} for sid in subscription_ids],
            unique=None, returning=["id"])


def import_csv(
    session: Session, lines: Iterable[str], *, mailing_list: MailingList, confirmed: bool, notifier: BulkNotifier,
    reason: str = "", on_batch: Callable[[ImportReport], None] | None = None, batch_size: int = BATCH,
) -> ImportReport:
    """Import rows in committed batches; a known address is never duplicated nor mailed twice, a leaver left alone.

    `on_batch` sees the report before each commit, so a job row can record progress in the same transaction.
    """
    report = ImportReport()
    batch = _Batch(session, mailing_list, confirmed=confirmed, reason=reason, started=utcnow(), report=report)
    pending: list[_Row] = []
    seen: dict[str, int] = {}  # this batch's addresses: a repeat inside one batch is caught before any write
    try:
        for line, row, text in _rows(lines):
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
            pending.append(_Row(line, email, name, zone, text))
            if len(pending) >= batch_size:
                _flush(session, batch, pending, mailing_list, notifier, on_batch)
                seen.clear()
    except InvalidInput as error:
        _flush(session, batch, pending, mailing_list, notifier, on_batch)
        if not report.rows:
            raise
        raise InvalidInput(f"{error.message} The rows before it were imported ({report.rows} read, {report.added} "
                           "added); importing the fixed file again duplicates nobody and mails nobody twice.") from None
    _flush(session, batch, pending, mailing_list, notifier, on_batch)
    return report


def _flush(session: Session, batch: _Batch, pending: list[_Row], mailing_list: MailingList,
           notifier: BulkNotifier, on_batch: Callable[[ImportReport], None] | None) -> None:
    """Write and commit a batch, then ask its new unconfirmed readers to confirm, a chunk per task."""
    to_confirm = batch.write(pending) if pending else []
    pending.clear()
    if on_batch is not None:
        on_batch(batch.report)
    session.commit()
    for start in range(0, len(to_confirm), CONFIRMATION_BATCH):
        notifier.confirmations(to_confirm[start:start + CONFIRMATION_BATCH], mailing_list.id)
