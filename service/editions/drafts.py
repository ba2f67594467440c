"""A draft's life: kept fresh on every poll, held for approval on 'hold' lists, frozen when approved or sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.admin import audit
from service.core.config import Settings
from service.core.errors import InvalidInput
from service.editions import build_edition, get_edition, reassemble, send_moment
from service.models import Edition, EditionStatus, MailingList

AUTO, HOLD = "auto", "hold"
SEND_MODES = {AUTO: "send by itself at the send time", HOLD: "hold until an editor approves it"}


@dataclass(frozen=True)
class Waiting:
    """A held edition nobody approved by its send time: it goes out once approved."""

    edition_id: int
    list_slug: str
    list_name: str
    edition_date: date
    due_at: datetime


def is_held(mailing_list: MailingList, edition: Edition | None) -> bool:
    """Whether the edition must wait for an editor: its list holds editions and nobody approved (froze) this one."""
    return mailing_list.send_mode == HOLD and (edition is None or edition.frozen_at is None)


def draft_days(mailing_list: MailingList, now: datetime) -> list[date]:
    """The day whose draft a poll keeps fresh: the next one to go out (today until its send time, then tomorrow)."""
    today = now.astimezone(ZoneInfo(mailing_list.timezone)).date()
    return [day for day in (today, today + timedelta(days=1)) if now < send_moment(mailing_list, day)][:1]


def refresh_drafts(session: Session, settings: Settings, now: datetime) -> list[Edition]:
    """Assemble each open list's coming drafts (and its waiting ones) again from the stories now in; never freezes."""
    refreshed = []
    lists = session.scalars(select(MailingList).where(MailingList.archived_at.is_(None)).order_by(MailingList.id))
    for mailing_list in lists:
        for day in draft_days(mailing_list, now):
            edition = build_edition(
                session, settings=settings, mailing_list=mailing_list, day=day, now=now, freeze=False
            )
            if edition is not None:
                refreshed.append(edition)
    for waiting in awaiting_approval(session, now):
        edition = session.get(Edition, waiting.edition_id)
        if edition is not None and edition.is_draft:
            reassemble(session, settings, edition, now=now)
            session.commit()
            refreshed.append(edition)
    return refreshed


def awaiting_approval(session: Session, now: datetime) -> list[Waiting]:
    """Held drafts whose send time has passed: the dashboard, `newsletter status` and /metrics show them."""
    query = (
        select(Edition, MailingList)
        .join(MailingList, MailingList.id == Edition.list_id)
        .where(
            MailingList.send_mode == HOLD,
            MailingList.archived_at.is_(None),
            Edition.send_status == EditionStatus.draft,
            Edition.frozen_at.is_(None),
        )
        .order_by(Edition.edition_date, Edition.id)
    )
    found = []
    for edition, mailing_list in session.execute(query).all():
        due = send_moment(mailing_list, edition.edition_date)
        if due <= now:
            found.append(Waiting(edition.id, mailing_list.slug, mailing_list.name, edition.edition_date, due))
    return found


def open_draft(
    session: Session, settings: Settings, mailing_list: MailingList, day: date, now: datetime
) -> Edition | None:
    """The day's stored draft, assembled now if there was none (an editor asked to edit it); None: no stories."""
    return get_edition(session, mailing_list, day) or build_edition(
        session, settings=settings, mailing_list=mailing_list, day=day, now=now, freeze=False
    )


def check_send_mode(mode: str) -> str:
    """The mode if it is one we know, so a form can refuse a bad one before it changes anything."""
    if mode not in SEND_MODES:
        raise InvalidInput(f"The send mode must be one of {', '.join(SEND_MODES)}; got {mode[:40]!r}.")
    return mode


def set_send_mode(session: Session, mailing_list: MailingList, mode: str, actor: str, ip: str | None = None) -> bool:
    """'auto' or 'hold' for the list's editions from now on, audited; False when it already was."""
    if mailing_list.send_mode == check_send_mode(mode):
        return False
    audit.record(
        session,
        actor=actor,
        action="list.send_mode",
        object_type="list",
        object_id=mailing_list.slug,
        details={"from": mailing_list.send_mode, "to": mode},
        ip=ip,
    )
    mailing_list.send_mode = mode
    session.commit()
    return True
