"""Admin accounts: create, sign in (argon2 password hashes), change role. SQL for admin_users lives here."""
from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.addresses import normalise_address
from service.admin.models import AdminRole, AdminUser
from service.errors import InvalidInput
from service.models import utcnow

MIN_PASSWORD_LENGTH = 12


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
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.")
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
