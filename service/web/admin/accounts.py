"""Admin screen: accounts — list, create, change role, disable and enable, and change my own password.

Disabling an account or changing its role ends its sessions at once; the last active admin cannot be removed.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session

from service.admin import accounts, audit, sessions
from service.admin.models import AdminRole
from service.core.errors import InvalidInput
from service.web.admin.auth import set_session_cookie
from service.web.admin.render import done, page
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep, SettingsDep

router = APIRouter(prefix="/admin")
ROLES = [role.value for role in AdminRole]


def _index(
    request: Request,
    session: Session,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
):
    """Every account and the create form, with the typed values."""
    return page(
        request,
        "accounts/index.html",
        status_code,
        title="Accounts",
        users=accounts.all_admins(session),
        values=values or {"email": "", "role": "viewer"},
        roles=ROLES,
        error=error,
        min_length=accounts.MIN_PASSWORD_LENGTH,
    )


@router.get("/accounts")
def accounts_list(request: Request, admin: CurrentAdmin, session: SessionDep):
    """Email, role, active or disabled, last sign-in."""
    return _index(request, session)


@router.post("/accounts")
def create(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    email: str = Form(""),
    role: str = Form("viewer"),
    password: str = Form(""),
):
    """A new account with an initial password (tell it to the person; they can change it)."""
    try:
        user = accounts.create_admin(session, email=email, password=password, role=accounts.role_of(role))
    except InvalidInput as error:
        session.rollback()
        return _index(request, session, values={"email": email, "role": role}, error=error.message, status_code=422)
    audit.record(
        session,
        actor=admin.name,
        action="admin.create",
        object_type="admin",
        object_id=user.id,
        details={"email": user.email, "role": user.role},
        ip=client_ip(request),
    )
    session.commit()
    return done("/admin/accounts", f"Account {user.email} created ({user.role}).")


@router.post("/accounts/{account_id}/role")
def change_role(request: Request, admin: CurrentAdmin, account_id: int, session: SessionDep, role: str = Form("")):
    """Another role for an account; its sessions end so the new role applies at once."""
    before = accounts.get_account(session, account_id).role
    try:
        user = accounts.change_role(
            session, account_id, accounts.role_of(role), actor=admin.name, ip=client_ip(request)
        )
    except InvalidInput as error:
        session.rollback()
        return _index(request, session, error=error.message, status_code=422)
    if user.role != before:
        audit.record(
            session,
            actor=admin.name,
            action="admin.role",
            object_type="admin",
            object_id=user.id,
            details={"email": user.email, "from": before, "to": user.role},
            ip=client_ip(request),
        )
    session.commit()
    return done(
        "/admin/accounts",
        f"{user.email} is now {user.role}; their sessions were ended and tokens above that role revoked.",
    )


def _set_disabled(request: Request, admin, session: Session, account_id: int, disabled: bool):
    """Disable or enable, audited; the last active admin stays."""
    try:
        user = accounts.set_disabled(session, account_id, disabled, actor=admin.name, ip=client_ip(request))
    except InvalidInput as error:
        session.rollback()
        return _index(request, session, error=error.message, status_code=422)
    audit.record(
        session,
        actor=admin.name,
        action="admin.disable" if disabled else "admin.enable",
        object_type="admin",
        object_id=user.id,
        details={"email": user.email},
        ip=client_ip(request),
    )
    session.commit()
    if disabled:
        return done(
            "/admin/accounts",
            f"{user.email} is disabled: signed out everywhere, API tokens revoked, and cannot sign in.",
        )
    return done("/admin/accounts", f"{user.email} is enabled again.")


@router.post("/accounts/{account_id}/disable")
def disable(request: Request, admin: CurrentAdmin, account_id: int, session: SessionDep):
    """End the account's sessions now and refuse its sign-ins."""
    return _set_disabled(request, admin, session, account_id, True)


@router.post("/accounts/{account_id}/enable")
def enable(request: Request, admin: CurrentAdmin, account_id: int, session: SessionDep):
    """Let a disabled account sign in again."""
    return _set_disabled(request, admin, session, account_id, False)


def _password_form(request: Request, error: str | None = None, status_code: int = 200):
    """The change-my-password form."""
    return page(
        request,
        "accounts/password.html",
        status_code,
        title="Change my password",
        error=error,
        min_length=accounts.MIN_PASSWORD_LENGTH,
    )


@router.get("/accounts/password")
def password_form(request: Request, admin: CurrentAdmin):
    """Current password, then the new one twice."""
    return _password_form(request)


@router.post("/accounts/password")
def change_password(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    current: str = Form(""),
    new: str = Form(""),
    again: str = Form(""),
):
    """A new password for the signed-in account; every other browser of it is signed out, this one stays in."""
    if admin.via != "session" or admin.admin_id is None:
        return _password_form(request, "Only a signed-in account has a password (this is an API token).", 422)
    if new != again:
        return _password_form(request, "The new password and its repetition differ.", 422)
    try:
        user = accounts.change_password(session, admin.admin_id, current=current, new=new)
    except InvalidInput as error:
        session.rollback()
        return _password_form(request, error.message, 422)
    audit.record(
        session,
        actor=admin.name,
        action="admin.password",
        object_type="admin",
        object_id=user.id,
        ip=client_ip(request),
    )
    token = sessions.open_session(
        session,
        user,
        hours=settings.admin_session_hours,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    session.commit()
    response = done("/admin/accounts", "Password changed; your other sessions were signed out.")
    set_session_cookie(settings, response, token)
    return response
