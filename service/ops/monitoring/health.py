"""Readiness checks of what the service needs: the database, the broker and the SMTP server, each timed."""

from __future__ import annotations

import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from service.core.config import Settings
from service.ops.monitoring.queues import TIMEOUT, broker_kind

SMTP_TIMEOUT = 2.0


@dataclass(frozen=True)
class Check:
    """One dependency's answer: up or not, how long it took, and why not."""

    name: str
    ok: bool
    latency_ms: float
    error: str | None = None
    checked_at: datetime | None = None  # set on a stored result of the scheduled checks; None: asked just now

    def as_json(self) -> dict:
        """The shape /readyz answers (a stored result also says when it was taken)."""
        plain = {"ok": self.ok, "latency_ms": round(self.latency_ms, 1), "error": self.error}
        return plain if self.checked_at is None else {**plain, "checked_at": self.checked_at.isoformat()}


def _timed(name: str, probe) -> Check:
    """Run a probe; any exception is the dependency being down, reported in one line."""
    started = time.perf_counter()
    try:
        probe()
    except Exception as error:  # noqa: BLE001 - every failure means "not ready"
        lines = str(error).strip().splitlines()
        return Check(name, False, (time.perf_counter() - started) * 1000, lines[0] if lines else type(error).__name__)
    return Check(name, True, (time.perf_counter() - started) * 1000)


def check_database(settings: Settings) -> Check:
    """A round trip to the database."""
    from service.core.db import engine_for

    def probe() -> None:
        with engine_for(settings.effective_database_url).connect() as conn:
            conn.execute(text("SELECT 1"))

    return _timed("database", probe)


def check_broker(settings: Settings) -> Check:
    """A round trip to the broker (PING on Redis, a connection on AMQP, the folder on the filesystem broker)."""
    kind = broker_kind(settings)

    def probe() -> None:
        if kind == "redis":
            import redis

            client = redis.Redis.from_url(
                settings.effective_broker_url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
            )
            try:
                client.ping()
            finally:
                client.close()
        elif kind == "filesystem":
            folder = settings.broker_folder / "queue"
            if not folder.is_dir():
                raise FileNotFoundError(f"no broker folder at {folder}")
        else:
            from kombu import Connection

            with Connection(settings.effective_broker_url, connect_timeout=TIMEOUT) as connection:
                connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)

    return _timed("broker", probe)


def check_smtp(settings: Settings) -> Check:
    """Connect, EHLO, NOOP and QUIT: the server takes connections and talks SMTP (no login, nothing sent)."""
    target = settings.smtp

    def probe() -> None:
        timeout = min(target.timeout, SMTP_TIMEOUT)
        context = ssl.create_default_context()
        if not target.verify_tls:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        client = (
            smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=context)
            if target.implicit_tls
            else smtplib.SMTP(target.host, target.port, timeout=timeout)
        )
        try:
            code, reply = client.ehlo()
            if code != 250:
                raise smtplib.SMTPResponseException(code, reply)
            code, reply = client.noop()
            if code != 250:
                raise smtplib.SMTPResponseException(code, reply)
        finally:
            try:
                client.quit()
            except smtplib.SMTPException:
                client.close()

    return _timed("smtp", probe)


def readiness(settings: Settings) -> list[Check]:
    """Every check /readyz and `newsletter status` report."""
    return [check_database(settings), check_broker(settings), check_smtp(settings)]
