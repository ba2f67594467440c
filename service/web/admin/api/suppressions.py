"""Admin JSON API for the suppression list: addresses never mailed again, kept as hashes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from service.mail.suppressions import SuppressionRow
from service.readers.subscribers import actions
from service.web.admin.api.common import Address, After, Limit, Reason, json_response
from service.web.admin.inputs import clean_reason
from service.web.admin.render import HASH_SHOWN
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep
from service.web.openapi import ADMIN_ERRORS

router = APIRouter()


class SuppressionOut(BaseModel):
    """One suppressed address as kept: a hash prefix, why and since when."""

    id: int
    hash_prefix: str
    reason: str
    since: datetime


class SuppressionsPage(BaseModel):
    """Suppressions newest first; pass `next_after` as `after` for the next page."""

    rows: list[SuppressionOut]
    next_after: int | None


class SuppressionChange(BaseModel):
    """An address to add to or remove from the suppression list, and why."""

    address: Address
    reason: Reason


class Unsuppressed(BaseModel):
    """The address may be mailed again."""

    removed: bool


def _suppression(row: SuppressionRow) -> dict[str, Any]:
    """A suppression without its full hash."""
    return {"id": row.id, "hash_prefix": row.email_hash[:HASH_SHOWN], "reason": row.reason, "since": row.created_at}


@router.get("/suppressions", response_model=SuppressionsPage, responses=ADMIN_ERRORS)
def get_suppressions(admin: CurrentAdmin, session: SessionDep, after: After = None, limit: Limit = 50):
    """The suppression list, newest first (only hashes of addresses are kept)."""
    found = actions.suppressions_page(session, after=after, limit=limit)
    return json_response({"rows": [_suppression(row) for row in found.rows], "next_after": found.next_after})


@router.post("/suppressions", status_code=201, response_model=SuppressionOut, responses=ADMIN_ERRORS)
def post_suppression(body: SuppressionChange, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Never mail this address again (idempotent, audited)."""
    row = actions.suppress_address(
        session, body.address, reason=clean_reason(body.reason), actor=admin.name, ip=client_ip(request)
    )
    return json_response(_suppression(row), status_code=201)


@router.delete("/suppressions", response_model=Unsuppressed, responses=ADMIN_ERRORS)
def delete_suppression(body: SuppressionChange, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Let a suppressed address be mailed again (audited); 422 when it was not suppressed."""
    actions.unsuppress_address(
        session, body.address, reason=clean_reason(body.reason), actor=admin.name, ip=client_ip(request)
    )
    return {"removed": True}
