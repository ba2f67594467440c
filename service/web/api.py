"""JSON API: the twin of the subscribe form, and the health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from service.web.common import subscribe
from service.web.deps import LimiterDep, NotifierDep, SessionDep, SettingsDep
from service.web.openapi import EmailAddress, ListSlug

router = APIRouter()


class SubscriptionRequest(BaseModel):
    """Body of POST /api/subscriptions."""

    email: EmailAddress
    name: str | None = Field(default=None, max_length=200)
    lists: list[ListSlug] = Field(min_length=1, max_length=50)
    timezone: str | None = Field(default=None, max_length=64)


class Accepted(BaseModel):
    """The same answer for every valid request, whatever the address's history."""

    status: str
    detail: str


@router.post("/api/subscriptions", status_code=202, response_model=Accepted)
def create_subscription(
    body: SubscriptionRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    notifier: NotifierDep,
):
    """Same rules and same answer as the form, whatever the address's history."""
    subscribe(
        request,
        session,
        settings,
        limiter,
        notifier,
        email=body.email,
        name=body.name,
        lists=body.lists,
        timezone=body.timezone,
        source="api",
    )
    return JSONResponse(
        {"status": "accepted", "detail": "If this address can be subscribed, a confirmation email is on its way."},
        status_code=202,
    )


@router.get("/healthz")
def healthz(session: SessionDep):
    """Liveness plus a database round trip."""
    session.execute(text("SELECT 1"))
    return {"status": "ok"}
