"""Every setting of the service, validated as a whole (single values by value_rules.py); unset ones fall back to
embedded development defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from service.core.config.smtp_target import SmtpTarget
from service.core.config.strength import secret_problems
from service.core.config.value_rules import (
    AccentColour,
    ClusteringMethod,
    DatabaseUrl,
    PlainName,
    RateLimit,
    SenderMailbox,
    TimeOfDay,
)

REPO_ROOT = Path(__file__).resolve().parents[3]  # service/core/config/settings.py
DEV_SECRET_FILE = "secret_key"  # under DATA_DIR: development's own random key, made once
EXAMPLE_POSTAL_ADDRESS = "Newsletter Ltd, 1 Example Street, London, United Kingdom"  # development's stand-in
SECRET_SETTINGS = (
    "secret_key",
    "admin_token",
    "smtp_url",
    "database_url",
    "broker_url",
    "redis_url",
    "rate_limit_storage_url",
    "metrics_token",
    "bounce_imap_url",
    "bounce_api_token",
)


class Settings(BaseSettings):
    """Every knob of the service; unset ones fall back to embedded, serverless defaults."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: str = "development"
    database_url: DatabaseUrl = None
    broker_url: str | None = None
    smtp_url: str | None = None
    rate_limit_storage_url: str | None = None
    base_url: str = "http://localhost:8000"
    host: str = "127.0.0.1"  # the web server's interface; 0.0.0.0 only when asked (containers, a reverse proxy)
    port: int = Field(default=8000, ge=1, le=65535)
    forwarded_allow_ips: str = "127.0.0.1"  # reverse proxies whose X-Forwarded-For/-Proto the web server believes
    data_dir: Path = Path("var")
    templates_dir: Path = REPO_ROOT / "templates"
    secret_key: str = ""  # unset in development: a random key kept under DATA_DIR; required elsewhere
    mail_from: SenderMailbox = "World News daily <news@localhost>"
    mail_unsubscribe_mailto: str | None = None
    # branding (see service/branding/): the admin UI's values win; empty ones fall back to these
    site_name: PlainName = ""  # empty: MAIL_FROM's display name
    site_about: str = ""  # the landing page's lead text
    site_accent_color: AccentColour = ""  # #rrggbb, dark enough for white button text (WCAG AA); empty: #b3261e
    site_sender_name: PlainName = ""  # the From display name; empty: MAIL_FROM's
    logo_max_bytes: int = Field(default=256 * 1024, gt=0)  # largest logo an admin may upload
    subscribe_resend_limit: RateLimit = "2/hour"  # "send the email again" presses per address (check-your-inbox page)
    postal_address: str = ""  # every email's footer (CAN-SPAM); required outside development, see postal_problem
    task_queue: str = "newsletter"
    smtp_sink_port: int = Field(default=8025, ge=1, le=65535)
    check_deliverability: bool = False
    confirm_token_max_age: int = Field(default=7 * 24 * 3600, gt=0)
    consent_text_version: str = "2026-11-v1"
    subscribe_limit_per_ip: RateLimit = "20/hour"
    subscribe_limit_per_address: RateLimit = "3/day"
    admin_auth_limit: RateLimit = "10/minute"  # failed admin authentications per IP
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    max_admin_body_bytes: int = Field(default=5 * 1024 * 1024, gt=0)  # /api/admin/: a day of stories as JSON
    request_timeout_seconds: float = Field(default=15.0, gt=0)  # a request body must arrive within this
    admin_token: str | None = None  # bootstrap bearer token with the admin role (accounts: `newsletter admin create`)
    admin_session_hours: float = Field(default=12.0, gt=0)  # an admin's login lasts this long without use
    admin_login_limit: RateLimit = "5/minute"  # failed logins per IP and per address, before 429
    metrics_token: str | None = None  # when set, /metrics needs `Authorization: Bearer <METRICS_TOKEN>`
    log_format: Literal["text", "json"] = "text"  # json: one object per line, with edition and delivery ids
    import_max_bytes: int = Field(default=200 * 1024 * 1024, gt=0)  # largest CSV an admin may upload
    edition_max_stories: int = Field(default=10, ge=1)
    skip_empty_editions: bool = True
    feed_poll_interval_seconds: int = Field(default=900, ge=10)
    feed_stale_days: float = Field(default=3.0, gt=0)  # admins see "stale" on a feed with nothing newer than this
    feed_allow_private: bool = False  # true: feeds on loopback, private and link-local addresses (intranet, tests)
    clustering_method: ClusteringMethod = (
        ""  # empty: the default of service.stories.clustering (see bench/clustering.py --all)
    )
    cluster_window_hours: float = Field(default=72.0, gt=0)  # items are compared only this close in publish time
    story_max_age_hours: float = Field(default=36.0, gt=0)  # an edition skips stories whose newest item is older
    # delivery engine (see service/delivery/)
    send_rate_per_second: float = Field(default=0.0, ge=0)  # global, shared by every worker via Redis; 0 = no limit
    send_batch_size: int = Field(default=200, ge=1)  # deliveries a worker claims at once
    send_lease_seconds: int = Field(default=60, ge=5)  # a claim not renewed this long is taken back by the sweeper
    send_parallelism: int = Field(default=4, ge=1)  # drain tasks started per edition (one SMTP connection each)
    send_expiry_hours: float = Field(default=12.0, gt=0)  # temporary failures are retried until the edition is this old
    send_retry_base_seconds: int = Field(default=60, ge=1)  # first retry delay after a 4xx or a dropped connection
    smtp_messages_per_connection: int = Field(default=1000, ge=1)  # re-open the SMTP connection after this many
    drain_max_seconds: int = Field(default=240, ge=1)  # a drain task hands over to a fresh task after this long
    dispatch_interval_seconds: float = Field(default=60.0, gt=0)  # how often beat looks for due editions (max 300)
    sweep_interval_seconds: float = Field(default=30.0, gt=0)  # how often beat takes back leases, restarts editions
    dispatch_catchup_hours: float = Field(default=6.0, ge=0)  # an edition missed while down is still sent this late
    send_synchronous_commit: bool = True  # off: faster ledger writes, but a PostgreSQL crash may forget ~1 s of sends
    # receivers refusing our setup (5.7.x) pause an edition (service/delivery/refusals.py); 0 turns a rule off
    refusal_pause_streak: int = Field(default=50, ge=0)  # this many refusals in a row
    refusal_pause_percent: float = Field(default=5.0, ge=0, le=100)  # more than this share of the last window
    refusal_pause_window: int = Field(default=1000, ge=10, le=100_000)  # replies the share is taken over
    # ledger retention (see service/delivery/retention.py): old finished editions keep only their roll-up figures
    delivery_retention_days: int = Field(default=90, ge=0)  # 0: keep every delivery row forever
    delivery_prune_batch_size: int = Field(default=5000, ge=100, le=100_000)  # rows deleted per transaction
    delivery_prune_at: TimeOfDay = "03:30"  # HH:MM, UTC: beat's daily prune, off-peak
    redis_url: str | None = None  # shared Redis for rate limits and beat's lock; default: BROKER_URL if Redis
    # bounces and complaints (see service/bounces/): VERP envelopes, inputs, the soft-bounce score
    verp_enabled: bool = True  # each message's envelope sender names its delivery: bounces+TOKEN@domain
    verp_local_part: str = Field(default="bounces", pattern=r"^[A-Za-z0-9._-]{1,40}$")
    verp_domain: str = ""  # empty: the domain of MAIL_FROM
    bounce_imap_url: str | None = None  # imaps://user:pass@host/INBOX, polled by beat
    bounce_poll_interval_seconds: int = Field(default=300, ge=10)
    bounce_api_token: str | None = None  # POST /api/bounces needs `Authorization: Bearer <BOUNCE_API_TOKEN>`
    bounce_score_threshold: float = Field(default=5.0, gt=0)  # soft bounces (one a day at most) that suppress
    bounce_score_decay_days: int = Field(default=7, ge=1)  # a bounce-free stretch this long resets the score
    # DKIM (see service/mail/dkim/): the three together or none; DKIM_ED25519_* adds a second signature (RFC 8463)
    dkim_private_key: Path | None = None  # PEM file of an RSA key (2048 bits: openssl genrsa -out dkim.pem 2048)
    dkim_selector: str | None = None  # publish the key at SELECTOR._domainkey.DOMAIN (`newsletter dkim dns`)
    dkim_domain: str | None = None  # d=: MAIL_FROM's domain or a parent of it (DMARC alignment)
    dkim_ed25519_key: Path | None = None  # PEM file of an Ed25519 key (openssl genpkey -algorithm ed25519)
    dkim_ed25519_selector: str | None = None
    feedback_id_sender: str = Field(default="", pattern=r"^[^:\s]{0,64}$")  # Feedback-ID's last field; default: domain

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """A running `newsletter run`'s PORT and BASE_URL (DATA_DIR/run.env) come after the environment, before .env."""
        from service.core.config.runfile import RunFileSource

        run_file = RunFileSource(settings_cls, init_settings, env_settings, dotenv_settings)
        return init_settings, env_settings, run_file, dotenv_settings, file_secret_settings

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        """Links are built as BASE_URL + path, so a trailing slash would double up."""
        return value.rstrip("/")

    @model_validator(mode="after")
    def _base_url_follows_port(self) -> Settings:
        """Without BASE_URL, links point at this machine on the configured PORT."""
        if "base_url" not in self.model_fields_set:
            self.base_url = f"http://localhost:{self.port}"
        return self

    @model_validator(mode="after")
    def _secrets_are_real(self) -> Settings:
        """Outside development every link would be forgeable without a real key, and the admin API guessable."""
        development = self.environment == "development"
        if not self.secret_key:
            if not development:
                raise ValueError(f"SECRET_KEY must be set outside development (ENVIRONMENT={self.environment})")
            self.secret_key = _development_secret(self.data_dir)
        if weak := secret_problems(self):
            raise ValueError("\n".join(weak))
        if self.smtp_url:
            SmtpTarget.from_url(self.smtp_url)
        self.postal_address = self.postal_address.strip()
        if not self.postal_address and development:
            self.postal_address = EXAMPLE_POSTAL_ADDRESS
        return self

    @property
    def postal_problem(self) -> str | None:
        """Why nothing may be sent: outside development every email must show the sender's real postal address."""
        if self.environment == "development":
            return None
        if not self.postal_address:
            return (
                f"POSTAL_ADDRESS: must be set outside development (ENVIRONMENT={self.environment}): every email "
                "shows the sender's physical postal address (CAN-SPAM); nothing is sent without it"
            )
        if self.postal_address == EXAMPLE_POSTAL_ADDRESS or "change-me" in self.postal_address.lower():
            return "POSTAL_ADDRESS: is still the example address; set your own physical postal address"
        return None

    @model_validator(mode="after")
    def _dkim_keys_load(self) -> Settings:
        """A missing, unreadable or unaligned key stops startup with one line, not the first send with a traceback."""
        from service.core.config.dkim_keys import keys_for

        keys_for(self)
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

    @property
    def feedback_sender_id(self) -> str:
        """Feedback-ID's sender id: stable across campaigns, so Gmail's spam-rate figures group by it."""
        return self.feedback_id_sender or self.mail_domain

    @property
    def effective_verp_domain(self) -> str:
        """Where bounces come back to: VERP_DOMAIN, or the sender's domain."""
        return self.verp_domain or self.mail_domain


def _development_secret(data_dir: Path) -> str:
    """A random key made once per development DATA_DIR, so no two installs share a key and none is in the source."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / DEV_SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(32))
    return path.read_text(encoding="utf-8").strip()
