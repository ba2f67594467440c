"""A reader's data as one JSON document (right of access and portability): what the admin page shows, in full."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy.orm import Session

from service.admin import audit
from service.models import as_utc, utcnow
from service.readers.subscribers.detail import delivery_history, subscriber_detail

FORMAT = "newsletter-subscriber-data/1"
PROFILE = ("id", "email", "name", "timezone", "paused_until", "created_at")


def plain(value: Any) -> Any:
    """Dataclasses, enums and dates as JSON values (datetimes in UTC, ISO 8601 with the offset)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(key): plain(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(inner) for inner in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    return value.isoformat() if isinstance(value, date) else value


def subscriber_data(session: Session, subscriber_id: int, *, retention_days: int = 0) -> dict[str, Any]:
    """Everything we hold about the reader; UnknownPage for an id that names nobody.

    Built from the admin's view of the reader (subscriber_detail), so whatever that page gains
    (bounces, say) is exported too; the delivery history here is all that is kept, not the page's last 100.
    Deliveries older than DELIVERY_RETENTION_DAYS (`retention_days`, 0: kept forever) are no longer held
    per reader, and the export says so.
    """
    found = subscriber_detail(session, subscriber_id)
    whole = plain(found)
    profile = {name: whole.pop(name) for name in PROFILE}
    whole["deliveries"] = plain(delivery_history(session, subscriber_id, limit=None))
    whole["deliveries_kept"] = (
        (
            f"the last {retention_days} days: older deliveries are kept only as their editions' "
            "totals, without any reader's details"
        )
        if retention_days
        else "all"
    )
    return {"format": FORMAT, "exported_at": plain(utcnow()), "profile": profile, **whole}


def export_subscriber_data(
    session: Session, subscriber_id: int, *, actor: str, ip: str | None = None, retention_days: int = 0
) -> dict[str, Any]:
    """The reader's data with its audit entry, committed: every access request is on record, whoever made it."""
    data = subscriber_data(session, subscriber_id, retention_days=retention_days)
    audit.record(
        session, actor=actor, action="subscriber.export_data", object_type="subscriber", object_id=subscriber_id, ip=ip
    )
    session.commit()
    return data
