"""Admin JSON API for editions: figures, failures, progress, and the one edition service's actions (audited)."""
from __future__ import annotations

import dataclasses
import logging
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service.admin import audit
from service.delivery import actions
from service.errors import InvalidInput
from service.models import Edition, EditionStatus, MailingList
from service.monitoring.failures import recent_failures
from service.monitoring.figures import EditionFigures, edition_figures, figures_for
from service.web.admin.auth import CurrentAdmin, readable_by_viewers
from service.web.common import client_ip, get_session
from service.web.openapi import REASONS, ErrorBody

router = APIRouter()
log = logging.getLogger(__name__)
SMTP_DOWN: dict[int | str, dict[str, Any]] = {503: {"model": ErrorBody, "description": REASONS[503]}}
Day = date  # a model field named `date` would shadow the type in its own annotations
AUDITED = {"pause": "edition.pause", "resume": "edition.resume", "cancel": "edition.cancel",
           "retry": "edition.retry_failed"}


class FiguresOut(BaseModel):
    """One edition's ledger in numbers; rates are shares of planned (0..1)."""

    edition_id: int
    list_slug: str
    edition_date: date
    send_status: str
    pause_reason: str | None = Field(None, description="Why the service paused it by itself (receivers refusing "
                                     "our sending setup), e.g. 'paused: 312 of the last 1,000 replies were 5.7.26 "
                                     "SPF failures from gmail.com'; cleared by resume")
    subject: str = ""
    planned: int
    sent: int
    failed: int
    failed_by_kind: dict[str, int]
    retrying: int
    pending: int
    sending: int
    skipped: int
    cancelled: int
    unsubscribed_since: int
    started_at: datetime | None
    completed_at: datetime | None
    rate_per_minute: float | None
    eta: datetime | None
    done: int
    progress: float
    sent_rate: float
    failure_rate: float
    unsubscribe_rate: float


class FailureOut(BaseModel):
    """A reader the edition could not reach, with the SMTP server's reply."""

    delivery_id: int
    email: str
    smtp_code: int | None
    smtp_reply: str | None
    failure_kind: str | None
    at: datetime | None


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


class SendNowIn(BaseModel):
    """Which day's edition to send now; default: today in the list's time zone."""

    date: Day | None = None


class SendTestIn(BaseModel):
    """The day's edition to one address, marked [Test]; nothing is built or recorded."""

    date: Day | None = None
    address: str = Field(min_length=3, max_length=320)


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


def figures_json(figures: EditionFigures, subject: str = "") -> dict[str, Any]:
    """The figures with their derived rates, as FiguresOut."""
    return {**dataclasses.asdict(figures), "subject": subject, "done": figures.done, "progress": figures.progress,
            "sent_rate": figures.sent_rate, "failure_rate": figures.failure_rate,
            "unsubscribe_rate": figures.unsubscribe_rate}


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
    """Celery's start_drains (tests may set app.state.start_drains); a broker hiccup leaves it to beat's sweep."""
    from service.tasks import start_drains

    starter: actions.DrainStarter = getattr(request.app.state, "start_drains", None) or start_drains

    def start(edition_id: int, count: int) -> None:
        try:
            starter(edition_id, count)
        except Exception:  # the ledger is committed: the sweeper starts drains within a minute
            log.exception("could not ask workers to drain edition %s; the sweep will", edition_id)

    return start


def act(request: Request, admin: CurrentAdmin, session: Session, edition_id: int, verb: str) -> ActionOut:
    """Pause, resume, cancel or retry one edition through the edition service, audited in the same commit."""
    edition = actions.find_edition(session, edition_id)
    settings = request.app.state.settings
    affected: int | None = None
    if verb == "pause":
        actions.pause(settings, edition.id)
        message = f"Edition {edition.id} paused: workers stop after the batches in flight."
    elif verb == "resume":
        affected = actions.resume(settings, edition.id, drain_starter(request))
        message = f"Edition {edition.id} resumed." + (
            f" {affected} readers refused for our sending setup are tried again." if affected else "")
    elif verb == "cancel":
        affected = actions.cancel(settings, edition.id)
        message = f"Edition {edition.id} cancelled: {affected} pending deliveries dropped."
    else:
        affected = actions.retry_failed(settings, edition.id, drain_starter(request))
        message = f"Edition {edition.id}: {affected} failed deliveries queued again."
    audit.record(session, actor=admin.name, action=AUDITED[verb], object_type="edition", object_id=edition.id,
                 details={"list": edition.mailing_list.slug, "date": edition.edition_date.isoformat(),
                          **({"affected": affected} if affected is not None else {})}, ip=client_ip(request))
    session.commit()
    session.refresh(edition)
    return ActionOut(edition_id=edition.id, send_status=edition.send_status, affected=affected, message=message)


def start_now(request: Request, admin: CurrentAdmin, session: Session, slug: str, day: date | None) -> SendNowOut:
    """Build if needed and start sending at once, audited."""
    mailing_list = actions.list_named(session, slug)
    day = day or list_today(mailing_list)
    started = actions.send_now(session, request.app.state.settings, mailing_list, day, drain_starter(request))
    if started is None:
        raise InvalidInput(f"no stories for {slug} on {day}: nothing to send")
    edition = started.edition
    audit.record(session, actor=admin.name, action="edition.send_now", object_type="edition", object_id=edition.id,
                 details={"list": slug, "date": day.isoformat(), "planned": started.planned}, ip=client_ip(request))
    session.commit()
    session.refresh(edition)
    message = (f"Edition {edition.id} was already started ({edition.send_status}); workers asked again."
               if started.planned is None else f"Edition {edition.id} started: {started.planned} readers planned.")
    return SendNowOut(edition_id=edition.id, send_status=edition.send_status, planned=started.planned,
                      message=message)


def mail_test(request: Request, admin: CurrentAdmin, session: Session, slug: str, day: date | None,
              address: str) -> SendTestOut:
    """Mail the day's edition, marked [Test], to one checked address, audited."""
    mailing_list = actions.list_named(session, slug)
    day = actions.check_day(day or list_today(mailing_list))
    sent_to = actions.send_test(session, request.app.state.settings, mailing_list, day, address)
    audit.record(session, actor=admin.name, action="edition.send_test", object_type="list", object_id=slug,
                 details={"date": day.isoformat(), "to": sent_to}, ip=client_ip(request))
    session.commit()
    return SendTestOut(list_slug=slug, date=day, sent_to=sent_to)


def _figures(session: Session, editions: list[Edition]) -> list[dict[str, Any]]:
    """Figures of several editions in one go, with their subjects."""
    found = figures_for(session, [edition.id for edition in editions])
    return [figures_json(found[edition.id], edition.subject) for edition in editions if edition.id in found]


@router.get("/editions", response_model=list[FiguresOut])
@readable_by_viewers
def list_editions(admin: CurrentAdmin, session: Session = Depends(get_session),
                  list_slug: str | None = Query(None, alias="list", max_length=100, description="One list's slug"),
                  limit: int = Query(50, ge=1, le=500)):
    """Editions newest first with their figures."""
    return _figures(session, actions.recent_editions(session, list_slug=list_slug, limit=limit))


@router.get("/editions/{edition_id}", response_model=FiguresOut)
@readable_by_viewers
def show_edition(edition_id: int, admin: CurrentAdmin, session: Session = Depends(get_session)):
    """One edition's figures: planned, sent, failed by kind, retrying, unsubscribed since, rates."""
    edition = actions.find_edition(session, edition_id)
    return figures_json(edition_figures(session, edition.id), edition.subject)


@router.get("/editions/{edition_id}/progress", response_model=ProgressOut)
@readable_by_viewers
def edition_progress(edition_id: int, admin: CurrentAdmin, session: Session = Depends(get_session)):
    """What the page's progress bar polls every second."""
    return progress_state(edition_figures(session, actions.find_edition(session, edition_id).id))


@router.get("/editions/{edition_id}/failures", response_model=list[FailureOut])
def edition_failures(edition_id: int, admin: CurrentAdmin, session: Session = Depends(get_session),
                     limit: int = Query(100, ge=1, le=1000)):
    """Readers it could not reach and the server's replies (addresses: admins only)."""
    edition = actions.find_edition(session, edition_id)
    return [dataclasses.asdict(failure) for failure in recent_failures(session, edition_id=edition.id, limit=limit)]


@router.post("/editions/{edition_id}/pause", response_model=ActionOut)
def pause_edition(edition_id: int, request: Request, admin: CurrentAdmin, session: Session = Depends(get_session)):
    """Stop after the batches in flight."""
    return act(request, admin, session, edition_id, "pause")


@router.post("/editions/{edition_id}/resume", response_model=ActionOut)
def resume_edition(edition_id: int, request: Request, admin: CurrentAdmin, session: Session = Depends(get_session)):
    """Carry on sending a paused edition."""
    return act(request, admin, session, edition_id, "resume")


@router.post("/editions/{edition_id}/cancel", response_model=ActionOut)
def cancel_edition(edition_id: int, request: Request, admin: CurrentAdmin, session: Session = Depends(get_session)):
    """Stop for good: readers not yet mailed will not get it."""
    return act(request, admin, session, edition_id, "cancel")


@router.post("/editions/{edition_id}/retry", response_model=ActionOut)
def retry_edition(edition_id: int, request: Request, admin: CurrentAdmin, session: Session = Depends(get_session)):
    """Send again to failed readers (never to unknown or unusable addresses)."""
    return act(request, admin, session, edition_id, "retry")


@router.post("/lists/{slug}/send-now", response_model=SendNowOut)
def send_now(slug: str, body: SendNowIn, request: Request, admin: CurrentAdmin,
             session: Session = Depends(get_session)):
    """Build the day's edition if needed and start sending it at once."""
    return start_now(request, admin, session, slug, body.date)


@router.post("/lists/{slug}/send-test", response_model=SendTestOut, responses=SMTP_DOWN)
def send_test(slug: str, body: SendTestIn, request: Request, admin: CurrentAdmin,
              session: Session = Depends(get_session)):
    """Mail the day's edition, marked [Test], to one address; 503 when the mail server cannot be reached."""
    return mail_test(request, admin, session, slug, body.date, body.address)
