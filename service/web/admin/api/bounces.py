"""Admin JSON API for bounce reports held for review: not proven for any reader (or unreadable), so never applied."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from service.bounces import store
from service.core.errors import UnknownPage
from service.web.admin.inputs import LARGEST_ID
from service.web.deps import SessionDep
from service.web.openapi import ADMIN_ERRORS

router = APIRouter()
Before = Annotated[int | None, Query(ge=1, le=LARGEST_ID, description="`next_before` of the previous page")]


class HeldOut(BaseModel):
    """A report stored but not applied, and why (e.g. `no token or message-id`, `bad verp token`)."""

    id: int
    received_at: datetime
    source: str
    kind: str
    status: str | None
    review: str
    diagnostic: str | None


class HeldPageOut(BaseModel):
    """One page, newest first; pass next_before as `before` for the next (null: this was the last)."""

    rows: list[HeldOut]
    next_before: int | None


class HeldMessageOut(HeldOut):
    """A held report with the message as it came in, for a person to judge."""

    raw: str | None


def _out(row: store.BounceRow) -> dict:
    """The fields a reviewer needs."""
    return {
        "id": row.id,
        "received_at": row.received_at,
        "source": row.source,
        "kind": row.kind,
        "status": row.status,
        "review": row.review or "",
        "diagnostic": row.diagnostic,
    }


@router.get("/bounces/held", response_model=HeldPageOut, responses=ADMIN_ERRORS)
def held(session: SessionDep, before: Before = None, limit: int = Query(50, ge=1, le=500)):
    """Reports held for review: stored, counted in /metrics, never applied to any reader."""
    page = store.held(session, before=before, limit=limit)
    return HeldPageOut(rows=[HeldOut(**_out(row)) for row in page.rows], next_before=page.next_before)


@router.get("/bounces/held/{bounce_id}", response_model=HeldMessageOut, responses=ADMIN_ERRORS)
def held_one(bounce_id: Annotated[int, Path(ge=1, le=LARGEST_ID)], session: SessionDep):
    """One held report with its raw message; 404 for an applied or unknown one."""
    row = store.held_one(session, bounce_id)
    if row is None:
        raise UnknownPage("No bounce report held for review has this id.")
    found, raw = row
    return HeldMessageOut(**_out(found), raw=raw)
