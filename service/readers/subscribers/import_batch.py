"""Writing one batch of checked import rows with set-based statements, and the report the batches add up."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from service.core.addresses import address_hash
from service.mail.suppressions import suppressed_among
from service.models import (
    ConsentEvent,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    as_utc,
    utcnow,
)
from service.readers.subscribers.bulk import among as _among
from service.readers.subscribers.bulk import insert_rows as _insert_rows

REJECTED_KEPT = 1000  # rejected rows kept by line for the report; the count covers them all
SOURCE = "import"


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


@dataclass
class CheckedRow:
    """A checked row waiting for its batch."""

    line: int
    email: str
    name: str
    timezone: str
    text: str  # the row as the file had it, for the report should it be rejected


class ImportBatch:
    """Writes one batch of checked rows with a handful of set-based statements, whatever its size."""

    def __init__(
        self,
        session: Session,
        mailing_list: MailingList,
        *,
        confirmed: bool,
        reason: str,
        started: datetime,
        report: ImportReport,
    ):
        self.session, self.list, self.confirmed, self.report = session, mailing_list, confirmed, report
        self.started = started
        self.details = {"reason": reason} if confirmed else {}

    def write(self, rows: list[CheckedRow]) -> list[int]:
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
        subscribers = {
            email: sid
            for email, sid in self.session.execute(
                select(Subscriber.email, Subscriber.id).where(_among(self.session, Subscriber.email, emails))
            )
        }
        if not subscribers:
            return {}
        ids = list(subscribers.values())
        confirmed_anywhere = set(
            self.session.scalars(
                select(Subscription.subscriber_id).where(
                    _among(self.session, Subscription.subscriber_id, ids),
                    Subscription.status == SubscriptionStatus.confirmed,
                )
            )
        )
        here = {
            sid: (status, source, as_utc(since))
            for sid, status, source, since in self.session.execute(
                select(
                    Subscription.subscriber_id, Subscription.status, Subscription.source, Subscription.subscribed_at
                ).where(_among(self.session, Subscription.subscriber_id, ids), Subscription.list_id == self.list.id)
            )
        }
        return {
            email: (sid, sid in confirmed_anywhere, *here.get(sid, (None, "", self.started)))
            for email, sid in subscribers.items()
        }

    def _insert_subscribers(self, rows: list[CheckedRow], now: datetime) -> dict[str, int]:
        """Insert new addresses (a concurrent insert of the same one is ignored) and return every row's id."""
        if not rows:
            return {}
        ids = {
            email: sid
            for email, sid in _insert_rows(
                self.session,
                cast(Table, Subscriber.__table__),
                [{"email": row.email, "name": row.name, "timezone": row.timezone, "created_at": now} for row in rows],
                unique=["email"],
                returning=["email", "id"],
            )
        }
        if missing := [row.email for row in rows if row.email not in ids]:  # stored meanwhile by someone else
            ids.update(
                {
                    email: sid
                    for email, sid in self.session.execute(
                        select(Subscriber.email, Subscriber.id).where(_among(self.session, Subscriber.email, missing))
                    )
                }
            )
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
        return [
            row[0]
            for row in _insert_rows(
                self.session,
                cast(Table, Subscription.__table__),
                [
                    {
                        "subscriber_id": sid,
                        "list_id": self.list.id,
                        "status": status,
                        "subscribed_at": now,
                        "confirmed_at": now if self.confirmed else None,
                        "unsubscribed_at": None,
                        "ip": None,
                        "user_agent": None,
                        "source": SOURCE,
                        "consent_text_version": "",
                    }
                    for sid in subscriber_ids
                ],
                unique=["subscriber_id", "list_id"],
                returning=["id"],
            )
        ]

    def _restart(self, subscriber_ids: list[int], now: datetime) -> list[int]:
        """Readers still awaiting confirmation become confirmed by a pre-confirmed import, with a fresh record."""
        if not subscriber_ids:
            return []
        return list(
            self.session.execute(
                update(Subscription)
                .where(
                    Subscription.list_id == self.list.id,
                    _among(self.session, Subscription.subscriber_id, subscriber_ids),
                )
                .values(
                    status=SubscriptionStatus.confirmed,
                    subscribed_at=now,
                    confirmed_at=now,
                    unsubscribed_at=None,
                    ip=None,
                    user_agent=None,
                    source=SOURCE,
                    consent_text_version="",
                )
                .returning(Subscription.id)
            ).scalars()
        )

    def _record_consent(self, subscription_ids: list[int], now: datetime) -> None:
        """Append to the consent history of every subscription this batch started."""
        if not subscription_ids:
            return
        action = "confirmed" if self.confirmed else "requested"
        _insert_rows(
            self.session,
            cast(Table, ConsentEvent.__table__),
            [
                {
                    "subscription_id": sid,
                    "action": action,
                    "at": now,
                    "ip": None,
                    "user_agent": None,
                    "source": SOURCE,
                    "consent_text_version": "",
                    "details": self.details,
                }
                for sid in subscription_ids
            ],
            unique=None,
            returning=["id"],
        )
