"""Many confirmed readers at once (bulk inserts), as an import of an existing audience would leave them."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from service.mail import suppressions
from service.models import Edition, EditionStatus, Subscriber, Subscription, SubscriptionStatus, utcnow


def add_readers(
    engine: Engine,
    list_id: int,
    count: int,
    *,
    prefix: str = "reader",
    zones: tuple[str, ...] = ("UTC",),
    status: SubscriptionStatus = SubscriptionStatus.confirmed,
    chunk: int = 5000,
    domains: tuple[str, ...] = ("example.org",),
) -> list[str]:
    """Insert `count` subscribers on a list (their domains taken in turn); returns their addresses."""
    now = utcnow()
    emails = [f"{prefix}{n}@{domains[n % len(domains)]}" for n in range(count)]
    with engine.begin() as conn:
        for start in range(0, count, chunk):
            part = emails[start : start + chunk]
            conn.execute(
                insert(Subscriber),
                [
                    {
                        "email": e,
                        "name": f"Reader {i + start}",
                        "timezone": zones[(i + start) % len(zones)],
                        "created_at": now,
                    }
                    for i, e in enumerate(part)
                ],
            )
            ids = conn.execute(select(Subscriber.id).where(Subscriber.email.in_(part))).scalars().all()
            conn.execute(
                insert(Subscription),
                [
                    {
                        "subscriber_id": sid,
                        "list_id": list_id,
                        "status": status,
                        "subscribed_at": now,
                        "source": "import",
                        "consent_text_version": "test",
                        "confirmed_at": now if status == SubscriptionStatus.confirmed else None,
                    }
                    for sid in ids
                ],
            )
    return emails


def suppress(engine: Engine, emails: list[str]) -> None:
    """Put addresses on the suppression list, as a hard bounce would."""
    with engine.begin() as conn:
        for email in emails:
            suppressions.suppress(conn, email, "test: hard bounce")


def pause(engine: Engine, emails: list[str]) -> None:
    """Readers who paused their subscription for a week."""
    from sqlalchemy import update

    with engine.begin() as conn:
        conn.execute(
            update(Subscriber).where(Subscriber.email.in_(emails)).values(paused_until=utcnow() + timedelta(days=7))
        )


def wait_until_complete(engine: Engine, edition_id: int, timeout: float = 60.0) -> None:
    """Wait for the ledger to say the edition is complete."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.scalar(select(Edition.send_status).where(Edition.id == edition_id)) == EditionStatus.complete:
                return
        time.sleep(0.2)
    raise AssertionError(f"edition {edition_id} not complete after {timeout} s")
