"""What "Send now" tells the editor first: how many readers, of which list, for which day, and what looks wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.core.db import engine_for
from service.delivery.planning import audience_size
from service.editions import build_edition
from service.models import MailingList, Story, as_utc, utcnow


def day_label(day: date) -> str:
    """'Sunday 6 December 2026', as the edition's subject names it."""
    return f"{day:%A} {day.day} {day:%B %Y}"


@dataclass(frozen=True)
class SendFacts:
    """The button's words, the confirmation's question and the warnings shown beside them."""

    readers: int
    list_name: str
    day: date
    warnings: list[str] = field(default_factory=list)

    @property
    def button(self) -> str:
        """'Send to 12,483 readers of World News daily'."""
        return f"Send to {self.readers:,} {'reader' if self.readers == 1 else 'readers'} of {self.list_name}"

    @property
    def question(self) -> str:
        """The confirmation names the list and the date."""
        return (
            f"Send {self.list_name} of {day_label(self.day)} to {self.readers:,} "
            f"{'reader' if self.readers == 1 else 'readers'} now? This cannot be undone."
        )


def send_facts(
    session: Session, settings: Settings, mailing_list: MailingList, day: date, now: datetime | None = None
) -> SendFacts:
    """Count the readers as the send would plan them, and warn of another day's edition or stale stories."""
    now = now or utcnow()
    readers = _count(settings, mailing_list, now)
    warnings = []
    today = now.astimezone(ZoneInfo(mailing_list.timezone)).date()
    if day != today:
        when = "in the future" if day > today else f"{(today - day).days} days old"
        warnings.append(f"This is the edition of {day_label(day)}, not today's ({day_label(today)}): it is {when}.")
    edition = build_edition(
        session, settings=settings, mailing_list=mailing_list, day=day, now=now, freeze=False, store=False
    )
    oldest = now - timedelta(hours=settings.story_max_age_hours)
    if edition is not None and edition.story_ids:
        rows = session.execute(select(Story.title, Story.newest_item_at).where(Story.id.in_(edition.story_ids)))
        stale = [title for title, newest in rows if newest is None or as_utc(newest) < oldest]
        if stale:
            warnings.append(
                f"{len(stale)} of its {len(edition.story_ids)} stories are older than the list's "
                f"{settings.story_max_age_hours}-hour window, e.g. “{stale[0]}”."
            )
    if not readers:
        warnings.append("Nobody would get it: the list has no confirmed reader who can be mailed.")
    return SendFacts(readers=readers, list_name=mailing_list.name, day=day, warnings=warnings)


def _count(settings: Settings, mailing_list: MailingList, now: datetime) -> int:
    """The readers the ledger would plan, on a connection of its own."""
    with engine_for(settings.effective_database_url).connect() as conn:
        return audience_size(conn, list_id=mailing_list.id, now=now)
