"""Signed-in browsers: a random cookie token whose hash names a row with its expiry and CSRF secret."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.admin.identity import Admin
from service.admin.models import AdminRole, AdminSession, AdminUser
from service.models import as_utc, utcnow


def _digest(token: str) -> str:
    """Only the hash is stored: a copy of the table signs nobody in."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def open_session(session: Session, user: AdminUser, *, hours: float, ip: str | None, user_agent: str | None) -> str:
    """Start a session for a signed-in account; returns the cookie value (shown to nobody else)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(AdminSession).where(AdminSession.expires_at < now))  # tidy up as we go
    session.add(
        AdminSession(
            token_hash=_digest(token),
            admin_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
            ip=ip,
            user_agent=(user_agent or "")[:512] or None,
        )
    )
    return token


def admin_for_cookie(session: Session, token: str, *, hours: float) -> Admin | None:
    """The admin a cookie names while its session is alive; each use extends it (an idle session ends)."""
    if not token or len(token) > 200:
        return None
    row = session.execute(
        select(AdminSession, AdminUser)
        .join(AdminUser, AdminUser.id == AdminSession.admin_id)
        .where(AdminSession.token_hash == _digest(token))
    ).first()
    if row is None:
        return None
    stored, user = row
    now = utcnow()
    if as_utc(stored.expires_at) <= now or user.disabled:
        return None
    if as_utc(stored.expires_at) - now < timedelta(hours=hours) - timedelta(minutes=5):
        stored.expires_at = now + timedelta(hours=hours)  # at most one write per five minutes of use
        session.commit()
    return Admin(
        name=user.email,
        role=AdminRole(user.role),
        via="session",
        admin_id=user.id,
        session_id=stored.id,
        csrf_token=stored.csrf_token,
    )


def close_session(session: Session, token: str) -> None:
    """Log out: the cookie stops working at once, wherever it was copied to."""
    session.execute(delete(AdminSession).where(AdminSession.token_hash == _digest(token)))


def close_all_for(session: Session, admin_id: int) -> None:
    """End every session of an account (disabled, or its role changed)."""
    session.execute(delete(AdminSession).where(AdminSession.admin_id == admin_id))
