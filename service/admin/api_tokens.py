"""API tokens for the JSON admin API: shown once, stored as a SHA-256 hash, scoped to a role, revocable.

A token acts for its owner's account and is worth what that account is: on every use the owner must be active and
still hold the token's role, and disabling or demoting the account revokes the tokens it no longer covers.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.admin import audit
from service.admin.identity import ROLE_RANK, Admin
from service.admin.models import AdminRole, AdminUser, ApiToken
from service.core.errors import InvalidInput, UnknownPage
from service.models import utcnow

PREFIX = "nla_"


@dataclass(frozen=True)
class NewToken:
    """A token just made: the secret is in here and nowhere else, ever."""

    row: ApiToken
    secret: str


def _digest(secret: str) -> str:
    """Tokens are long random strings, so a fast hash is enough (no password stretching needed)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def create_token(
    session: Session, *, name: str, role: AdminRole, created_by: str, owner_id: int | None = None
) -> NewToken:
    """A new token acting for owner_id's account (None: the CLI or ADMIN_TOKEN); its secret is returned once."""
    name = " ".join(name.split())
    if not name or len(name) > 100 or not name.isprintable():
        raise InvalidInput("A token needs a name of 1 to 100 characters, e.g. 'deploy bot'.")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        token_hash=_digest(secret),
        prefix=secret[:10],
        role=role.value,
        created_by=created_by,
        owner_id=owner_id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return NewToken(row, secret)


def all_tokens(session: Session) -> list[ApiToken]:
    """Every token, newest first, revoked ones included (they say when)."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Stop a token from working; revoking twice is harmless."""
    row = session.get(ApiToken, token_id) if 0 < token_id <= 2**31 - 1 else None
    if row is None:
        raise UnknownPage(f"There is no API token {token_id}.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def admin_for_token(session: Session, secret: str) -> Admin | None:
    """The caller a bearer token names while it is not revoked and its owner is active with at least its role."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    found = session.execute(
        select(ApiToken, AdminUser)
        .outerjoin(AdminUser, AdminUser.id == ApiToken.owner_id)
        .where(ApiToken.token_hash == _digest(secret))
    ).first()
    if found is None:
        return None
    row, owner = found
    role = AdminRole(row.role)
    if row.revoked_at is not None or (row.owner_id is not None and not _covers(owner, role)):
        return None
    session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=utcnow()))
    session.commit()
    return Admin(name=f"token:{row.name}", role=role, via="token", admin_id=row.owner_id)


def _covers(owner: AdminUser | None, role: AdminRole) -> bool:
    """An active account that still holds at least this role."""
    return owner is not None and not owner.disabled and ROLE_RANK[AdminRole(owner.role)] >= ROLE_RANK[role]


def revoke_uncovered(session: Session, owner: AdminUser, *, actor: str, ip: str | None = None) -> list[ApiToken]:
    """Revoke the owner's live tokens that the account no longer covers (disabled: all; demoted: the higher ones)."""
    live = session.scalars(
        select(ApiToken).where(ApiToken.owner_id == owner.id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)
    ).all()
    revoked = [row for row in live if not _covers(owner, AdminRole(row.role))]
    reason = "owner disabled" if owner.disabled else f"owner is now {owner.role}"
    for row in revoked:
        row.revoked_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="token.revoke",
            object_type="token",
            object_id=row.id,
            details={"name": row.name, "role": row.role, "owner": owner.email, "reason": reason},
            ip=ip,
        )
    return revoked
