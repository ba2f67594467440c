"""Approving a draft: its content is frozen, audited, and a held edition past its send time starts at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from service.admin import audit
from service.core.config import Settings
from service.core.errors import Conflict
from service.editions import reassemble
from service.editions.editing import Editor, Outcome, open_for_edit
from service.models import utcnow

DrainStarter = Callable[[int, int], None]


def approve(
    session: Session,
    settings: Settings,
    edition_id: int,
    editor: Editor,
    *,
    expected_version: int | None = None,
    now: datetime | None = None,
    start_drains: DrainStarter | None = None,
) -> Outcome:
    """Freeze now: the content is final; a held edition past its send time goes out at once."""
    from service.delivery.schedule import start_approved  # the ledger: only when an edition is approved

    now = now or utcnow()
    edition = open_for_edit(session, edition_id, expected_version)
    if not reassemble(session, settings, edition, now=now, freeze_by=editor.name):
        session.rollback()
        raise Conflict(f"edition {edition.id} changed since you opened it: reload it and approve it again")
    audit.record(
        session,
        actor=editor.name,
        action="edition.approve",
        object_type="edition",
        object_id=edition.id,
        details={
            "list": edition.mailing_list.slug,
            "date": edition.edition_date.isoformat(),
            "version": edition.version,
            "stories": list(edition.story_ids or []),
        },
        ip=editor.ip,
    )
    session.commit()
    planned = start_approved(settings, session, edition, now)
    session.refresh(edition)
    if planned is not None and start_drains is not None:
        start_drains(edition.id, settings.send_parallelism)
    message = (
        f"Approved and frozen; sending to {planned:,} readers now."
        if planned is not None
        else "Approved and frozen; it goes out at its send time."
    )
    return Outcome(edition, message, planned)
