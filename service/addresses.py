"""Email address rules: validation and normalisation (email-validator) and suppression hashes."""
from __future__ import annotations

import hashlib

from email_validator import EmailNotValidError, validate_email

from service.errors import InvalidAddress

MAX_ADDRESS_LENGTH = 254


def normalise_address(raw: str, *, check_deliverability: bool = False) -> str:
    """The one spelling of an address we store and compare: validated, lower-cased."""
    candidate = (raw or "").strip()
    if not candidate:
        raise InvalidAddress("Please enter an email address.")
    if len(candidate) > MAX_ADDRESS_LENGTH or any(c in candidate for c in "\r\n"):
        raise InvalidAddress("That email address is not valid.")
    try:
        result = validate_email(candidate, check_deliverability=check_deliverability)
    except EmailNotValidError as error:
        raise InvalidAddress(f"That email address is not valid: {error}") from None
    return result.normalized.lower()


def address_hash(normalised: str) -> str:
    """Suppressions keep only this hash, so a suppressed address is not stored in clear."""
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()
