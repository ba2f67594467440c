"""SMTP_URL, parsed once into what the senders need, and URLs with their passwords hidden."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from service.core.config.errors import ConfigError


def redact_url(url: str) -> str:
    """A URL with its password replaced, for messages that name a connection."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


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
    def from_url(cls, url: str) -> SmtpTarget:
        """Parse smtp://user:pass@host:port?starttls=true or smtps://... (implicit TLS)."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ConfigError("SMTP_URL must start with smtp:// or smtps://")
        if not parts.hostname:
            raise ConfigError("SMTP_URL has no host")
        query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
        implicit = parts.scheme == "smtps"
        try:
            port = parts.port or (465 if implicit else 25)
            timeout = float(query.get("timeout", "30"))
        except ValueError:
            raise ConfigError("SMTP_URL has a port or timeout that is not a number") from None
        if timeout <= 0:
            raise ConfigError("SMTP_URL timeout must be positive")
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            starttls=query.get("starttls", "false") in ("1", "true", "yes"),
            verify_tls=query.get("verify", "true") not in ("0", "false", "no"),
            timeout=timeout,
        )
