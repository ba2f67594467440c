"""Settings from the environment (and an optional .env), with embedded defaults for development."""

from __future__ import annotations

from functools import lru_cache

from pydantic import ValidationError

from service.core.config.errors import ConfigError, describe_validation_error
from service.core.config.settings import DEV_SECRET_FILE, EXAMPLE_POSTAL_ADDRESS, REPO_ROOT, SECRET_SETTINGS, Settings
from service.core.config.smtp_target import SmtpTarget, redact_url

__all__ = [
    "DEV_SECRET_FILE",
    "EXAMPLE_POSTAL_ADDRESS",
    "REPO_ROOT",
    "SECRET_SETTINGS",
    "ConfigError",
    "Settings",
    "SmtpTarget",
    "describe_validation_error",
    "get_settings",
    "load_settings",
    "redact_url",
]


def load_settings(**values) -> Settings:
    """Settings from the environment, or a ConfigError that is safe to print (no secret values, no traceback)."""
    try:
        settings = Settings(**values)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, built on first use (never at import time)."""
    return load_settings()
