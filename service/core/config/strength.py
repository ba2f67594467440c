"""Which secrets and proxy settings production refuses: example values, short or repetitive keys, a trust-all proxy.

Development and test may run on weak values (a laptop, a test run); every other ENVIRONMENT is strict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.core.config.settings import Settings

LENIENT_ENVIRONMENTS = ("development", "test")
MIN_SECRET_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 10
MIN_LENIENT_SECRET_LENGTH = 16  # development and test: still no two-letter keys
RECOMMENDED_RSA_BITS = 2048
MAKE_ONE = "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
CHECKED_SECRETS = ("secret_key", "metrics_token", "bounce_api_token", "admin_token")


def is_lenient(environment: str) -> bool:
    """Development and test may use weak keys; production, staging and anything else may not."""
    return environment.strip().lower() in LENIENT_ENVIRONMENTS


def weakness(value: str) -> str | None:
    """Why a secret is guessable or copied from an example, or None when it is fit for production."""
    if "change-me" in value.lower():
        return "is still the example value (it contains 'change-me')"
    if len(value) < MIN_SECRET_LENGTH:
        return f"must be at least {MIN_SECRET_LENGTH} characters long"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return f"must have at least {MIN_DISTINCT_CHARACTERS} different characters"
    return None


def secret_problems(settings: Settings) -> list[str]:
    """One line per secret that production must not run on, naming the setting and never its value."""
    lines = []
    for field in CHECKED_SECRETS:
        value = getattr(settings, field)
        if value is None or (field != "secret_key" and value == ""):
            continue  # unset optional tokens switch their feature off
        if is_lenient(settings.environment):
            if field == "secret_key" and len(value) < MIN_LENIENT_SECRET_LENGTH:
                lines.append(f"SECRET_KEY: must be at least {MIN_LENIENT_SECRET_LENGTH} characters long; {MAKE_ONE}")
            continue
        if why := weakness(value):
            lines.append(f"{field.upper()}: {why} (ENVIRONMENT={settings.environment}); {MAKE_ONE}")
    if not is_lenient(settings.environment) and "*" in settings.forwarded_allow_ips.split(","):
        lines.append(
            f"FORWARDED_ALLOW_IPS: '*' believes X-Forwarded-For from anyone, so any client could pick its "
            f"own IP for the rate limits (ENVIRONMENT={settings.environment}); list your proxies' addresses"
        )
    return lines


def dkim_warnings(settings: Settings) -> list[str]:
    """A weak but working DKIM key: receivers still accept 1024 bits today, but Gmail and others ask for 2048."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from service.core.config.dkim_keys import keys_for

    return [
        f"DKIM_PRIVATE_KEY: the RSA key has only {key.private_key.key_size} bits; use {RECOMMENDED_RSA_BITS} "
        "(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048) and publish the new record"
        for key in keys_for(settings)
        if isinstance(key.private_key, rsa.RSAPrivateKey) and key.private_key.key_size < RECOMMENDED_RSA_BITS
    ]
