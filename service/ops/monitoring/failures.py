"""The latest readers an edition could not reach, with the server's own words: the dashboard's failure list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from service.delivery import rollup
from service.models import Delivery, DeliveryStatus, Edition, EditionStatus, MailingList, Subscriber, as_utc, utcnow

D = cast(Table, Delivery.__table__)
FAILURE_DAYS = timedelta(days=14)  # how far back the dashboard's latest failures look


@dataclass(frozen=True)
class Failure:
    """One reader this edition could not be delivered to, with the server's own words."""

    delivery_id: int
    edition_id: int
    list_slug: str
    edition_date: date
    email: str
    smtp_code: int | None
    smtp_reply: str | None
    failure_kind: str | None
    at: datetime | None  # the last attempt was due then (the ledger keeps no failure timestamp)


def recent_failures(session: Session, *, edition_id: int | None = None, limit: int = 20) -> list[Failure]:
    """The latest final failures with their SMTP replies: newest edition first, then newest reader first.

    The ledger keeps ~90 million rows at a million readers a day, too many to sort at every look. Each
    edition's rows are walked backwards along the index that leads with the edition (edition, reader),
    newest edition first, until `limit` failures are found; without an edition, of the last FAILURE_DAYS.
    """
    started = select(Edition.id).where(
        Edition.send_status != EditionStatus.draft, Edition.id.not_in(rollup.rolled_up_ids())
    )
    if edition_id is not None:
        started = started.where(Edition.id == edition_id)
    else:
        started = started.where(Edition.edition_date >= utcnow().date() - FAILURE_DAYS)
    editions = session.scalars(started.order_by(Edition.edition_date.desc(), Edition.id.desc())).all()
    query = (
        select(
            D.c.id,
            D.c.edition_id,
            MailingList.slug,
            Edition.edition_date,
            Subscriber.email,
            D.c.smtp_code,
            D.c.smtp_reply,
            D.c.failure_kind,
            D.c.not_before,
        )
        .join(Edition, Edition.id == D.c.edition_id)
        .join(MailingList, MailingList.id == Edition.list_id)
        .join(Subscriber, Subscriber.id == D.c.subscriber_id)
        .where(D.c.status == DeliveryStatus.failed)
        .order_by(D.c.edition_id.desc(), D.c.subscriber_id.desc())
    )
    found: list[Failure] = []
    for one in editions:
        if len(found) >= limit:
            break
        found += [
            Failure(
                row.id,
                row.edition_id,
                row.slug,
                row.edition_date,
                row.email,
                row.smtp_code,
                row.smtp_reply,
                row.failure_kind,
                as_utc(row.not_before) if row.not_before is not None else None,
            )  # SQLite: naive UTC
            for row in session.execute(query.where(D.c.edition_id == one).limit(limit - len(found)))
        ]
    return found
