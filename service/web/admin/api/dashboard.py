"""Admin JSON API for the dashboard: the service's status snapshot, shared for a few seconds between callers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from service.admin.models import AdminRole
from service.web.admin.auth import readable_by_viewers
from service.web.admin.render import masked
from service.web.admin.status import current_status
from service.web.deps import CurrentAdmin, SettingsDep

router = APIRouter()


class CheckOut(BaseModel):
    """One dependency's readiness."""

    ok: bool
    latency_ms: float
    error: str | None


class WorkersOut(BaseModel):
    """Workers that answered, by hostname with their queues, and those consuming ours."""

    online: dict[str, list[str]]
    consuming: list[str]
    error: str | None


class StatusOut(BaseModel):
    """What `newsletter status --json` shows: checks, queues, workers, beat, sends, stuck leases, failures."""

    at: str
    healthy: bool
    problems: list[str]
    checks: dict[str, CheckOut]
    broker: str
    broker_error: str | None
    queues: dict[str, int]
    unacked: int | None
    workers: WorkersOut
    heartbeats: dict[str, str]
    beat_age_seconds: float | None
    next_sends: list[dict[str, Any]]
    editions: list[dict[str, Any]]
    stuck_leases: int
    failures: list[dict[str, Any]]
    smtp_replies: dict[str, int]


@router.get("/status", response_model=StatusOut)
@readable_by_viewers
def status(request: Request, admin: CurrentAdmin, settings: SettingsDep):
    """The service at a glance, as JSON (reader addresses in failures are masked for viewers)."""
    plain = current_status(request, settings).as_json()
    if not admin.may(AdminRole.admin):
        plain["failures"] = [{**failure, "email": masked(failure["email"])} for failure in plain["failures"]]
    return plain
