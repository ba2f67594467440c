"""Tables of the admin side: accounts, sessions, API tokens, the audit log, imports, heartbeats, health checks."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.models import Base, utcnow


class AdminRole(str, enum.Enum):
    """What an account or token may do: admins change things, viewers only read dashboards and figures."""

    admin = "admin"
    viewer = "viewer"


class AdminUser(Base):
    """A person who signs in to the admin UI; the password is kept only as an argon2 hash."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=AdminRole.admin.value)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)


class AdminSession(Base):
    """A signed-in browser: the cookie holds a random token, the row only its hash and the session's CSRF secret."""

    __tablename__ = "admin_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    admin_id: Mapped[int] = mapped_column(ForeignKey("admin_users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(512), default=None)


class ApiToken(Base):
    """A bearer token for the JSON admin API, scoped to a role; shown once, stored as a hash."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, so people can tell tokens apart
    role: Mapped[str] = mapped_column(String(16), default=AdminRole.viewer.value)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    # the account it acts for (a token made by a token: that token's owner); None: made by the CLI or ADMIN_TOKEN
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_users.id", ondelete="CASCADE"), index=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class AuditEntry(Base):
    """Who did what to which object, and when: append-only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(400))  # "ann@example.org", "token:deploy-bot", "cli"
    action: Mapped[str] = mapped_column(String(64))  # "edition.pause", "list.create", ...
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)


class ImportStatus:
    """Where a background CSV import stands."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ImportJob(Base):
    """A CSV upload imported in the background, with its progress and the report of rejected rows."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str] = mapped_column(String(400), default="")
    filename: Mapped[str] = mapped_column(String(300), default="")
    path: Mapped[str] = mapped_column(String(1000), default="")  # the uploaded file under DATA_DIR/imports
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)  # pre-confirmed: nobody is mailed
    reason: Mapped[str] = mapped_column(Text, default="")  # why it is pre-confirmed (required then, audited)
    status: Mapped[str] = mapped_column(String(16), default=ImportStatus.queued)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    read_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[int] = mapped_column(default=0)
    added: Mapped[int] = mapped_column(default=0)
    already: Mapped[int] = mapped_column(default=0)
    kept_unsubscribed: Mapped[int] = mapped_column(default=0)
    suppressed: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[list] = mapped_column(JSON, default=list)  # [[line, reason], ...], the first REJECTED_KEPT
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class Heartbeat(Base):
    """The last time a periodic part of the service showed it was alive (beat's dispatch tick, for one)."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class HealthCheck(Base):
    """The last result of a scheduled health check (SMTP, workers): scrapes and status read it instead of asking."""

    __tablename__ = "health_checks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    latency_ms: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict | None] = mapped_column(JSON)  # workers: hostname -> the queues it consumes


Index("ix_audit_log_object", AuditEntry.object_type, AuditEntry.object_id)
