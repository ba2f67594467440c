"""What an admin's request does to an edition, for the edition pages and the JSON API alike (audited)."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

from service.admin import audit
from service.core.config import Settings
from service.core.errors import InvalidInput
from service.delivery import actions
from service.models import EditionStatus, MailingList
from service.ops.monitoring.figures import EditionFigures
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, state_override

log = logging.getLogger(__name__)
Day = date  # a model field named `date` would shadow the type in its own annotations
AUDITED = {
    "pause": "edition.pause",
    "resume": "edition.resume",
    "cancel": "edition.cancel",
    "retry": "edition.retry_failed",
}


class ProgressOut(BaseModel):
    """What a progress bar shows: how far (0..1), one line of words, and whether to stop polling."""

    fraction: float
    label: str
    done: bool


class ActionOut(BaseModel):
    """What an action did to an edition: its status afterwards and how many deliveries it touched."""

    edition_id: int
    send_status: str
    affected: int | None = None
    message: str


class SendNowOut(BaseModel):
    """The edition started (or already started before: planned is then null)."""

    edition_id: int
    send_status: str
    planned: int | None
    message: str


class SendTestOut(BaseModel):
    """Where the test went."""

    list_slug: str
    date: Day
    sent_to: str


def progress_state(figures: EditionFigures) -> ProgressOut:
    """The bar's state: polling stops once the edition is no longer sending."""
    status = figures.send_status
    fraction = 1.0 if status == EditionStatus.complete and not figures.planned else figures.progress
    if not figures.planned:
        label = "not started yet" if status == EditionStatus.draft else f"{status}: nobody planned"
    else:
        label = f"{figures.done}/{figures.planned} · {figures.sent} sent · {figures.failed} failed"
        label += f" · {figures.retrying} retrying" if figures.retrying else ""
        if status in (EditionStatus.paused, EditionStatus.cancelled):
            label = f"{status} · {label}"
        elif status == EditionStatus.sending and figures.eta is not None:
            label += f" · ETA {figures.eta:%H:%M} UTC"
    return ProgressOut(fraction=round(min(fraction, 1.0), 4), label=label, done=status != EditionStatus.sending)


def list_today(mailing_list: MailingList) -> date:
    """Today where the list's readers are told its time (its own zone)."""
    return datetime.now(ZoneInfo(mailing_list.timezone)).date()


def drain_starter(request: Request) -> actions.DrainStarter:
    """Celery's start_drains (or a test's, on app.state.start_drains); a broker hiccup leaves it to beat's sweep."""
    from service.tasks import start_drains

    starter = cast(actions.DrainStarter | None, state_override(request, "start_drains")) or start_drains

    def start(edition_id: int, count: int) -> None:
        try:
            starter(edition_id, count)
        except Exception:  # the ledger is committed: the sweeper starts drains within a minute
            log.exception("could not ask workers to drain edition %s; the sweep will", edition_id)

    return start


def act(
    request: Request, admin: CurrentAdmin, session: Session, settings: Settings, edition_id: int, verb: str
) -> ActionOut:
    """Pause, resume, cancel or retry one edition through the edition service, audited in the same commit."""
    edition = actions.find_edition(session, edition_id)
    affected: int | None = None
    if verb == "pause":
        actions.pause(settings, edition.id)
        message = f"Edition {edition.id} paused: workers stop after the batches in flight."
    elif verb == "resume":
        affected = actions.resume(settings, edition.id, drain_starter(request))
        message = f"Edition {edition.id} resumed." + (
            f" {affected} readers refused for our sending setup are tried again." if affected else ""
        )
    elif verb == "cancel":
        affected = actions.cancel(settings, edition.id)
        message = f"Edition {edition.id} cancelled: {affected} pending deliveries dropped."
    else:
        affected = actions.retry_failed(settings, edition.id, drain_starter(request))
        message = f"Edition {edition.id}: {affected} failed deliveries queued again."
    audit.record(
        session,
        actor=admin.name,
        action=AUDITED[verb],
        object_type="edition",
        object_id=edition.id,
        details={
            "list": edition.mailing_list.slug,
            "date": edition.edition_date.isoformat(),
            **({"affected": affected} if affected is not None else {}),
        },
        ip=client_ip(request),
    )
    session.commit()
    session.refresh(edition)
    return ActionOut(edition_id=edition.id, send_status=edition.send_status, affected=affected, message=message)


def start_now(
    request: Request, admin: CurrentAdmin, session: Session, settings: Settings, slug: str, day: date | None
) -> SendNowOut:
    """Build if needed and start sending at once, audited."""
    mailing_list = actions.list_named(session, slug)
    day = day or list_today(mailing_list)
    started = actions.send_now(session, settings, mailing_list, day, drain_starter(request))
    if started is None:
        raise InvalidInput(f"no stories for {slug} on {day}: nothing to send")
    edition = started.edition
    audit.record(
        session,
        actor=admin.name,
        action="edition.send_now",
        object_type="edition",
        object_id=edition.id,
        details={"list": slug, "date": day.isoformat(), "planned": started.planned},
        ip=client_ip(request),
    )
    session.commit()
    session.refresh(edition)
    message = (
        f"Edition {edition.id} was already started ({edition.send_status}); workers asked again."
        if started.planned is None
        else f"Edition {edition.id} started: {started.planned} readers planned."
    )
    return SendNowOut(edition_id=edition.id, send_status=edition.send_status, planned=started.planned, message=message)


def mail_test(
    request: Request,
    admin: CurrentAdmin,
    session: Session,
    settings: Settings,
    slug: str,
    day: date | None,
    address: str,
) -> SendTestOut:
    """Mail the day's edition, marked [Test], to one checked address, audited."""
    mailing_list = actions.list_named(session, slug)
    day = actions.check_day(day or list_today(mailing_list))
    sent_to = actions.send_test(session, settings, mailing_list, day, address)
    audit.record(
        session,
        actor=admin.name,
        action="edition.send_test",
        object_type="list",
        object_id=slug,
        details={"date": day.isoformat(), "to": sent_to},
        ip=client_ip(request),
    )
    session.commit()
    return SendTestOut(list_slug=slug, date=day, sent_to=sent_to)


def parse_day(raw: str | None, mailing_list: MailingList) -> date:
    """YYYY-MM-DD from a form or link; empty means today in the list's zone."""
    if not raw:
        return list_today(mailing_list)
    try:
        return actions.check_day(date.fromisoformat(raw.strip()))
    except ValueError:
        raise InvalidInput(f"date must be YYYY-MM-DD, got {raw[:40]!r}") from None


def day_query(mailing_list: MailingList, day: date) -> str:
    """The query string naming a list's day, for the day routes."""
    return urlencode({"list": mailing_list.slug, "date": day.isoformat()})
