"""Admin screen: API tokens — list, create (the secret is shown once, in the answer itself) and revoke."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session

from service.admin import accounts, api_tokens, audit
from service.admin.models import AdminRole
from service.core.errors import InvalidInput
from service.web.admin.render import done, page
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep

router = APIRouter(prefix="/admin")
ROLES = [role.value for role in AdminRole]


def _index(
    request: Request,
    session: Session,
    *,
    name: str = "",
    role: str = "viewer",
    error: str | None = None,
    status_code: int = 200,
):
    """The tokens and the create form, with the typed values."""
    return page(
        request,
        "tokens/index.html",
        status_code,
        title="API tokens",
        tokens=api_tokens.all_tokens(session),
        token_name=name,
        role=role,
        roles=ROLES,
        error=error,
    )


@router.get("/tokens")
def tokens_list(request: Request, admin: CurrentAdmin, session: SessionDep):
    """Every token: name, role, first characters, who made it, when, last use, revoked."""
    return _index(request, session)


@router.post("/tokens")
def create(
    request: Request, admin: CurrentAdmin, session: SessionDep, name: str = Form(""), role: str = Form("viewer")
):
    """Make a token and show its secret in this answer only: never stored, redirected or cached."""
    try:
        made = api_tokens.create_token(
            session, name=name, role=accounts.role_of(role), created_by=admin.name, owner_id=admin.admin_id
        )
    except InvalidInput as error:
        session.rollback()
        return _index(request, session, name=name, role=role, error=error.message, status_code=422)
    audit.record(
        session,
        actor=admin.name,
        action="token.create",
        object_type="token",
        object_id=made.row.id,
        details={"name": made.row.name, "role": made.row.role},
        ip=client_ip(request),
    )
    session.commit()
    response = page(
        request, "tokens/created.html", status_code=201, title="Token created", token=made.row, secret=made.secret
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@router.post("/tokens/{token_id}/revoke")
def revoke(request: Request, admin: CurrentAdmin, token_id: int, session: SessionDep):
    """Stop a token at once; it stays listed as revoked."""
    row = api_tokens.revoke_token(session, token_id)
    audit.record(
        session,
        actor=admin.name,
        action="token.revoke",
        object_type="token",
        object_id=row.id,
        details={"name": row.name},
        ip=client_ip(request),
    )
    session.commit()
    return done("/admin/tokens", f"Token {row.id} ({row.name}) revoked: it no longer works.")
