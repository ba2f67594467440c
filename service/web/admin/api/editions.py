"""Admin JSON API for editions: figures, failures, progress, and the one edition service's actions (audited)."""

from __future__ import annotations

import dataclasses
import logging
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from service.delivery import actions
from service.models import Edition
from service.ops.monitoring.failures import recent_failures
from service.ops.monitoring.figures import EditionFigures, edition_figures, figures_for
from service.web.admin.auth import readable_by_viewers
from service.web.admin.edition_actions import (
    ActionOut,
    Day,
    ProgressOut,
    SendNowOut,
    SendTestOut,
    act,
    mail_test,
    progress_state,
    start_now,
)
from service.web.deps import CurrentAdmin, SessionDep, SettingsDep
from service.web.openapi import REASONS, ErrorBody

router = APIRouter()
log = logging.getLogger(__name__)
SMTP_DOWN: dict[int | str, dict[str, Any]] = {503: {"model": ErrorBody, "description": REASONS[503]}}


class FiguresOut(BaseModel):
    """One edition's ledger in numbers; rates are shares of planned (0..1)."""

    edition_id: int
    list_slug: str
    edition_date: date
    send_status: str
    pause_reason: str | None = Field(
        None,
        description="Why the service paused it by itself (receivers refusing "
        "our sending setup), e.g. 'paused: 312 of the last 1,000 replies were 5.7.26 "
        "SPF failures from gmail.com'; cleared by resume",
    )
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


class SendNowIn(BaseModel):
    """Which day's edition to send now; default: today in the list's time zone."""

    date: Day | None = None


class SendTestIn(BaseModel):
    """The day's edition to one address, marked [Test]; nothing is built or recorded."""

    date: Day | None = None
    address: str = Field(min_length=3, max_length=320)


def figures_json(figures: EditionFigures, subject: str = "") -> dict[str, Any]:
    """The figures with their derived rates, as FiguresOut."""
    return {
        **dataclasses.asdict(figures),
        "subject": subject,
        "done": figures.done,
        "progress": figures.progress,
        "sent_rate": figures.sent_rate,
        "failure_rate": figures.failure_rate,
        "unsubscribe_rate": figures.unsubscribe_rate,
    }


def _figures(session: Session, editions: list[Edition]) -> list[dict[str, Any]]:
    """Figures of several editions in one go, with their subjects."""
    found = figures_for(session, [edition.id for edition in editions])
    return [figures_json(found[edition.id], edition.subject) for edition in editions if edition.id in found]


@router.get("/editions", response_model=list[FiguresOut])
@readable_by_viewers
def list_editions(
    admin: CurrentAdmin,
    session: SessionDep,
    list_slug: str | None = Query(None, alias="list", max_length=100, description="One list's slug"),
    limit: int = Query(50, ge=1, le=500),
):
    """Editions newest first with their figures."""
    return _figures(session, actions.recent_editions(session, list_slug=list_slug, limit=limit))


@router.get("/editions/{edition_id}", response_model=FiguresOut)
@readable_by_viewers
def show_edition(edition_id: int, admin: CurrentAdmin, session: SessionDep):
    """One edition's figures: planned, sent, failed by kind, retrying, unsubscribed since, rates."""
    edition = actions.find_edition(session, edition_id)
    return figures_json(edition_figures(session, edition.id), edition.subject)


@router.get("/editions/{edition_id}/progress", response_model=ProgressOut)
@readable_by_viewers
def edition_progress(edition_id: int, admin: CurrentAdmin, session: SessionDep):
    """What the page's progress bar polls every second."""
    return progress_state(edition_figures(session, actions.find_edition(session, edition_id).id))


@router.get("/editions/{edition_id}/failures", response_model=list[FailureOut])
def edition_failures(
    edition_id: int,
    admin: CurrentAdmin,
    session: SessionDep,
    limit: int = Query(100, ge=1, le=1000),
):
    """Readers it could not reach and the server's replies (addresses: admins only)."""
    edition = actions.find_edition(session, edition_id)
    return [dataclasses.asdict(failure) for failure in recent_failures(session, edition_id=edition.id, limit=limit)]


@router.post("/editions/{edition_id}/pause", response_model=ActionOut)
def pause_edition(edition_id: int, request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep):
    """Stop after the batches in flight."""
    return act(request, admin, session, settings, edition_id, "pause")


@router.post("/editions/{edition_id}/resume", response_model=ActionOut)
def resume_edition(edition_id: int, request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep):
    """Carry on sending a paused edition."""
    return act(request, admin, session, settings, edition_id, "resume")


@router.post("/editions/{edition_id}/cancel", response_model=ActionOut)
def cancel_edition(edition_id: int, request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep):
    """Stop for good: readers not yet mailed will not get it."""
    return act(request, admin, session, settings, edition_id, "cancel")


@router.post("/editions/{edition_id}/retry", response_model=ActionOut)
def retry_edition(edition_id: int, request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep):
    """Send again to failed readers (never to unknown or unusable addresses)."""
    return act(request, admin, session, settings, edition_id, "retry")


@router.post("/lists/{slug}/send-now", response_model=SendNowOut)
def send_now(
    slug: str, body: SendNowIn, request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep
):
    """Build the day's edition if needed and start sending it at once."""
    return start_now(request, admin, session, settings, slug, body.date)


@router.post("/lists/{slug}/send-test", response_model=SendTestOut, responses=SMTP_DOWN)
def send_test(
    slug: str, body: SendTestIn, request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep
):
    """Mail the day's edition, marked [Test], to one address; 503 when the mail server cannot be reached."""
    return mail_test(request, admin, session, settings, slug, body.date, body.address)
