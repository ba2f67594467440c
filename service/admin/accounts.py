"""Admin accounts: create, sign in (argon2 password hashes), change role, disable, change password.

SQL for admin_users lives here; there is always at least one active admin account once one exists.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.admin import api_tokens, sessions
from service.admin.models import AdminRole, AdminUser
from service.admin.passwords import MIN_PASSWORD_LENGTH as MIN_PASSWORD_LENGTH  # the forms show it
from service.admin.passwords import check_password
from service.core.addresses import normalise_address
from service.core.errors import InvalidInput, UnknownPage
from service.models import utcnow


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    """argon2id with the library's current recommended parameters."""
    return PasswordHasher()


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    """A real hash to verify against for unknown addresses, so a miss costs as long as a wrong password."""
    return _hasher().hash("no account has this password")


def role_of(raw: str) -> AdminRole:
    """A role name from a form, the CLI or the API."""
    try:
        return AdminRole(raw.strip().lower())
    except ValueError:
        raise InvalidInput(f"Role must be one of {', '.join(r.value for r in AdminRole)}.") from None


def create_admin(session: Session, *, email: str, password: str, role: AdminRole = AdminRole.admin) -> AdminUser:
    """A new account; the password is stored only as an argon2 hash."""
    address = normalise_address(email)
    check_password(password, email=address)
    if find_admin(session, address) is not None:
        raise InvalidInput(f"An admin account for {address} already exists.")
    user = AdminUser(email=address, password_hash=_hasher().hash(password), role=role.value)
    session.add(user)
    session.flush()
    return user


def find_admin(session: Session, email: str) -> AdminUser | None:
    """The account of an address, compared case-insensitively."""
    return session.scalar(select(AdminUser).where(func.lower(AdminUser.email) == email.strip().lower()))


def authenticate(session: Session, email: str, password: str) -> AdminUser | None:
    """The account when the password is right; None otherwise, in the same time whether or not it exists."""
    user = find_admin(session, email) if email.strip() else None
    stored = user.password_hash if user is not None else _decoy_hash()
    try:
        _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    if _hasher().check_needs_rehash(stored):
        user.password_hash = _hasher().hash(password)
    user.last_login_at = utcnow()
    return user


def all_admins(session: Session) -> list[AdminUser]:
    """Every account, for the accounts screen."""
    return list(session.scalars(select(AdminUser).order_by(AdminUser.email)))


def get_account(session: Session, account_id: int) -> AdminUser:
    """The account with this id, or UnknownPage."""
    user = session.get(AdminUser, account_id) if 0 < account_id <= 2**31 - 1 else None
    if user is None:
        raise UnknownPage(f"There is no admin account {account_id}.")
    return user


def _keep_an_admin(session: Session, user: AdminUser) -> None:
    """Refuse a change that would leave no active admin (the others' rows are locked until commit, on PostgreSQL)."""
    if user.role != AdminRole.admin.value or user.disabled:
        return
    others = session.scalars(
        select(AdminUser.id)
        .where(AdminUser.role == AdminRole.admin.value, AdminUser.disabled.is_(False), AdminUser.id != user.id)
        .with_for_update()
    ).all()
    if not others:
        raise InvalidInput(
            f"{user.email} is the last active admin account: make another account an admin first, "
            "or nobody could manage the newsletter."
        )


def change_role(
    session: Session, account_id: int, role: AdminRole, *, actor: str = "cli", ip: str | None = None
) -> AdminUser:
    """Give an account another role; its sessions end and tokens above the role are revoked (audited)."""
    user = get_account(session, account_id)
    if user.role == role.value:
        return user
    if role != AdminRole.admin:
        _keep_an_admin(session, user)
    user.role = role.value
    sessions.close_all_for(session, user.id)
    api_tokens.revoke_uncovered(session, user, actor=actor, ip=ip)
    session.flush()
    return user


def set_disabled(
    session: Session, account_id: int, disabled: bool, *, actor: str = "cli", ip: str | None = None
) -> AdminUser:
    """Disable an account (its sessions end, its tokens are revoked, audited) or enable it again."""
    user = get_account(session, account_id)
    if disabled and not user.disabled:
        _keep_an_admin(session, user)
        sessions.close_all_for(session, user.id)
    user.disabled = disabled
    if disabled:
        api_tokens.revoke_uncovered(session, user, actor=actor, ip=ip)
    session.flush()
    return user


def change_password(session: Session, account_id: int, *, current: str, new: str) -> AdminUser:
    """A new password for an account that proves it knows the current one; every session of it ends."""
    user = get_account(session, account_id)
    try:
        _hasher().verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise InvalidInput("The current password is not right.") from None
    check_password(new, email=user.email, what="The new password")
    user.password_hash = _hasher().hash(new)
    sessions.close_all_for(session, user.id)
    session.flush()
    return user
