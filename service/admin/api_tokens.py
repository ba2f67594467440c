"""API tokens for the JSON admin API: shown once, stored as a SHA-256 hash, scoped to a role, revocable."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.admin.identity import Admin
from service.admin.models import AdminRole, ApiToken
from service.errors import InvalidInput, UnknownPage
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


def create_token(session: Session, *, name: str, role: AdminRole, created_by: str) -> NewToken:
    """A new token; its secret is returned once and only its hash is kept."""
    name = " ".join(name.split())
    if not name or len(name) > 100 or not name.isprintable():
        raise InvalidInput("A token needs a name of 1 to 100 characters, e.g. 'deploy bot'.")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=_digest(secret), prefix=secret[:10], role=role.value,
                   created_by=created_by, created_at=utcnow())
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
    """The caller a bearer token names while it is not revoked; its last use is noted."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if row is None or row.revoked_at is not None:
        return None
    session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=utcnow()))
    session.commit()
    return Admin(name=f"token:{row.name}", role=AdminRole(row.role), via="token")
