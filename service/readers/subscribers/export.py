"""CSV export of a list's readers, streamed in keyset batches and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.lists.rules import get_list
from service.models import Subscriber, Subscription, utcnow
from service.readers.subscribers.search import check_status, status_condition, status_of

BATCH = 1000
HEADER = ("email", "name", "status", "subscribed_at", "confirmed_at", "timezone")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def guard(cell: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading apostrophe (CSV injection)."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def csv_line(values: Sequence[object]) -> str:
    """One CSV record with its CRLF end, every text cell guarded against running as a formula."""
    out = io.StringIO()
    csv.writer(out).writerow([guard(value) if isinstance(value, str) else value for value in values])
    return out.getvalue()


def _when(moment: datetime | None) -> str:
    """ISO 8601, empty when unset."""
    return moment.isoformat() if moment else ""


def export_csv(session: Session, *, list_slug: str, status: str | None = None) -> Iterator[str]:
    """The list's readers (optionally only those in one status) as CSV lines, header first, oldest reader first."""
    status = check_status(status)
    list_id = get_list(session, list_slug).id
    yield csv_line(HEADER)
    after = 0
    while True:
        query = (
            select(
                Subscriber.id,
                Subscriber.email,
                Subscriber.name,
                Subscriber.timezone,
                Subscriber.paused_until,
                Subscription.status,
                Subscription.subscribed_at,
                Subscription.confirmed_at,
            )
            .join(Subscription, Subscription.subscriber_id == Subscriber.id)
            .where(Subscription.list_id == list_id, Subscription.subscriber_id > after)
            .order_by(Subscription.subscriber_id)
            .limit(BATCH)
        )
        now = utcnow()
        if status is not None:
            query = query.where(status_condition(status, now))
        rows = session.execute(query).all()
        for row in rows:
            yield csv_line(
                (
                    row.email,
                    row.name,
                    status_of(row.status, row.paused_until, now),
                    _when(row.subscribed_at),
                    _when(row.confirmed_at),
                    row.timezone,
                )
            )
        if len(rows) < BATCH:
            return
        after = rows[-1].id
