"""DKIM signing of every email we send: keys from the DKIM_* settings, a fast OpenSSL-backed signer."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from service.core.config.dkim_keys import DkimKey, DkimSettingError, keys_for, load_keys
from service.mail.dkim.signer import SIGNED, Prepared, Signer, body_hash

if TYPE_CHECKING:
    from service.core.config import Settings

__all__ = ["SIGNED", "DkimKey", "DkimSettingError", "Prepared", "Signer", "body_hash", "keys_for", "signer_for"]


def signer_for(settings: Settings) -> Signer | None:
    """The process's signer for these settings (keys read once), or None when DKIM is not configured."""
    return _signer(
        settings.dkim_private_key,
        settings.dkim_selector,
        settings.dkim_domain,
        settings.dkim_ed25519_key,
        settings.dkim_ed25519_selector,
        settings.mail_domain,
    )


@lru_cache(maxsize=8)
def _signer(
    private_key: Path | None,
    selector: str | None,
    domain: str | None,
    ed25519_key: Path | None,
    ed25519_selector: str | None,
    mail_domain: str,
) -> Signer | None:
    """Cached by the settings' values, so tests with other keys get their own signer."""
    keys = load_keys(
        private_key=private_key,
        selector=selector,
        domain=domain,
        ed25519_key=ed25519_key,
        ed25519_selector=ed25519_selector,
        mail_domain=mail_domain,
    )
    return Signer(keys) if keys else None
