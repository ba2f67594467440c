"""Admin JSON API for API tokens: list, create (the secret is in that answer only) and revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from service.admin import api_tokens, audit
from service.admin.models import AdminRole, ApiToken
from service.models import as_utc
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep
from service.web.openapi import ADMIN_ERRORS, REASONS, ErrorBody

router = APIRouter()
READ_ERRORS: dict[int | str, dict[str, Any]] = {code: ADMIN_ERRORS[code] for code in (400, 401, 403, 429)}
NO_TOKEN: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": REASONS[404]}}


class TokenOut(BaseModel):
    """A token as listed: never its secret, only its first characters."""

    id: int
    name: str
    role: AdminRole
    prefix: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIn(BaseModel):
    """A token to make."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="What uses it, e.g. 'deploy bot'")
    role: AdminRole = AdminRole.viewer


class TokenCreated(TokenOut):
    """A token just made, with its secret: this answer is the only place it ever appears."""

    secret: str


def _when(moment: datetime | None) -> datetime | None:
    """Stored UTC, said so (SQLite hands back naive datetimes)."""
    return as_utc(moment) if moment else None


def token_out(row: ApiToken) -> dict[str, Any]:
    """The API shape of a token row."""
    return TokenOut(
        id=row.id,
        name=row.name,
        role=AdminRole(row.role),
        prefix=row.prefix,
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
        last_used_at=_when(row.last_used_at),
        revoked_at=_when(row.revoked_at),
    ).model_dump(mode="json")


@router.get("/tokens", response_model=list[TokenOut], responses=READ_ERRORS)
def list_tokens(session: SessionDep):
    """Every token, newest first, revoked ones included."""
    return [token_out(row) for row in api_tokens.all_tokens(session)]


@router.post("/tokens", status_code=201, response_model=TokenCreated, responses=ADMIN_ERRORS)
def create_token(body: TokenIn, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Make a token scoped to a role; copy the secret from this answer, it is not shown again."""
    made = api_tokens.create_token(
        session, name=body.name, role=body.role, created_by=admin.name, owner_id=admin.admin_id
    )  # a token minted by a token: the same owner
    audit.record(
        session,
        actor=admin.name,
        action="token.create",
        object_type="token",
        object_id=made.row.id,
        details={"name": made.row.name, "role": made.row.role, "via": "api"},
        ip=client_ip(request),
    )
    session.commit()
    return JSONResponse(
        {**token_out(made.row), "secret": made.secret}, status_code=201, headers={"Cache-Control": "no-store"}
    )


@router.post("/tokens/{token_id}/revoke", response_model=TokenOut, responses={**ADMIN_ERRORS, **NO_TOKEN})
def revoke_token(token_id: int, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Stop a token at once (revoking twice is harmless)."""
    row = api_tokens.revoke_token(session, token_id)
    audit.record(
        session,
        actor=admin.name,
        action="token.revoke",
        object_type="token",
        object_id=row.id,
        details={"name": row.name, "via": "api"},
        ip=client_ip(request),
    )
    session.commit()
    return token_out(row)
