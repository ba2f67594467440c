"""Settings from the environment (and an optional .env), with embedded defaults for development."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"


class ConfigError(ValueError):
    """A setting that cannot work, reported before anything starts."""


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to hand mail over: parsed from SMTP_URL so callers never parse URLs."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    starttls: bool = False
    verify_tls: bool = True
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> "SmtpTarget":
        """Parse smtp://user:pass@host:port?starttls=true or smtps://... (implicit TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ConfigError(f"SMTP_URL must start with smtp:// or smtps://, got {url!r}")
        if not parts.hostname:
            raise ConfigError(f"SMTP_URL has no host: {url!r}")
        query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            starttls=query.get("starttls", "false") in ("1", "true", "yes"),
            verify_tls=query.get("verify", "true") not in ("0", "false", "no"),
            timeout=float(query.get("timeout", "30")),
        )


class Settings(BaseSettings):
    """Every knob of the service; unset ones fall back to embedded, serverless defaults."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: str = "development"
    database_url: str | None = None
    broker_url: str | None = None
    smtp_url: str | None = None
    rate_limit_storage_url: str | None = None
    base_url: str = "http://localhost:8000"
    port: int = 8000
    data_dir: Path = Path("var")
    templates_dir: Path = REPO_ROOT / "templates"
    secret_key: str = DEV_SECRET_KEY
    mail_from: str = "World News daily <news@localhost>"
    mail_unsubscribe_mailto: str | None = None
    postal_address: str = "Newsletter Ltd, 1 Example Street, London, United Kingdom"
    task_queue: str = "newsletter"
    smtp_sink_port: int = 8025
    check_deliverability: bool = False
    confirm_token_max_age: int = 7 * 24 * 3600
    consent_text_version: str = "2026-11-v1"
    subscribe_limit_per_ip: str = "20/hour"
    subscribe_limit_per_address: str = "3/day"
    max_body_bytes: int = 64 * 1024
    max_admin_body_bytes: int = 5 * 1024 * 1024  # /api/admin/: a day of stories as JSON
    admin_token: str | None = None
    edition_max_stories: int = 10
    skip_empty_editions: bool = True
    feed_poll_interval_seconds: int = 900
    # delivery engine (see service/delivery/)
    send_rate_per_second: float = 0.0  # global, shared by every worker through Redis; 0 = no limit
    send_batch_size: int = 200  # deliveries a worker claims at once
    send_lease_seconds: int = 60  # a claim not renewed for this long is taken back by the sweeper
    send_parallelism: int = 4  # drain tasks started per edition (one SMTP connection each)
    send_expiry_hours: float = 12.0  # temporary failures are retried until the edition is this old
    send_retry_base_seconds: int = 60  # first retry delay after a 4xx or a dropped connection; doubles
    smtp_messages_per_connection: int = 1000  # re-open the SMTP connection after this many messages
    drain_max_seconds: int = 240  # a drain task hands over to a fresh task after this long
    dispatch_interval_seconds: float = 60.0  # how often beat looks for due editions (at most 300)
    sweep_interval_seconds: float = 30.0  # how often beat takes back expired leases and restarts stalled editions
    dispatch_catchup_hours: float = 6.0  # an edition missed while the service was down is still sent this late
    send_synchronous_commit: bool = True  # off: faster ledger writes, but a PostgreSQL crash may forget ~1 s of sends
    redis_url: str | None = None  # shared Redis for rate limits and beat's lock; default: BROKER_URL if Redis

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        """Links are built as BASE_URL + path, so a trailing slash would double up."""
        return value.rstrip("/")

    @model_validator(mode="after")
    def _base_url_follows_port(self) -> "Settings":
        """Without BASE_URL, links point at this machine on the configured PORT."""
        if "base_url" not in self.model_fields_set:
            self.base_url = f"http://localhost:{self.port}"
        return self

    @model_validator(mode="after")
    def _refuse_dev_secret(self) -> "Settings":
        """The built-in secret signs nothing outside development: anyone could forge tokens."""
        if self.environment != "development" and self.secret_key == DEV_SECRET_KEY:
            raise ConfigError("SECRET_KEY must be set outside development (ENVIRONMENT=%s)" % self.environment)
        if len(self.secret_key) < 16:
            raise ConfigError("SECRET_KEY must be at least 16 characters long")
        if self.smtp_url:
            SmtpTarget.from_url(self.smtp_url)
        return self

    @property
    def effective_database_url(self) -> str:
        """DATABASE_URL, or a SQLite file under DATA_DIR."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'newsletter.db').resolve()}"

    @property
    def uses_embedded_broker(self) -> bool:
        """True when no BROKER_URL is set and tasks travel through files under DATA_DIR."""
        return not self.broker_url

    @property
    def effective_broker_url(self) -> str:
        """BROKER_URL, or kombu's filesystem transport (no server needed)."""
        return self.broker_url or "filesystem://"

    @property
    def broker_folder(self) -> Path:
        """Where the embedded filesystem broker keeps its messages."""
        return (self.data_dir / "broker").resolve()

    @property
    def uses_embedded_smtp(self) -> bool:
        """True when no SMTP_URL is set and mail goes to the built-in sink under DATA_DIR/outbox."""
        return not self.smtp_url

    @property
    def smtp(self) -> SmtpTarget:
        """The SMTP server to deliver to."""
        return SmtpTarget.from_url(self.smtp_url or f"smtp://127.0.0.1:{self.smtp_sink_port}")

    @property
    def outbox_dir(self) -> Path:
        """Where the built-in SMTP sink writes each received message as a .eml file."""
        return (self.data_dir / "outbox").resolve()

    @property
    def effective_redis_url(self) -> str | None:
        """REDIS_URL, or the broker when the broker is Redis; None when there is no Redis at all."""
        if self.redis_url:
            return self.redis_url
        if self.broker_url and self.broker_url.startswith(("redis://", "rediss://")):
            return self.broker_url
        return None

    @property
    def effective_rate_limit_storage_url(self) -> str:
        """Shared Redis counters when Redis is around, else in-process memory."""
        return self.rate_limit_storage_url or self.effective_redis_url or "memory://"

    @property
    def mail_domain(self) -> str:
        """Domain for Message-IDs: the sender's domain."""
        return self.mail_from.rsplit("@", 1)[-1].strip(" >") or "localhost"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, built on first use (never at import time)."""
    return Settings()
