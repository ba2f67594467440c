"""Email address rules: validation and normalisation (email-validator) and suppression hashes."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import idna
from email_validator import EmailNotValidError, validate_email

from service.core.errors import InvalidAddress
from service.i18n.locales import N_

MAX_ADDRESS_LENGTH = 254
GMAIL_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
# a dot-atom local part (what email-validator stores): no space, quote, bracket or control character
_LOCAL_PART = re.compile(r"[^\x00-\x20\x7f-\x9f\"(),:;<>@\[\\\]]+")
_ASCII_DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", re.IGNORECASE)


def normalise_address(raw: str, *, check_deliverability: bool = False) -> str:
    """The one spelling of an address we store and compare: validated, lower-cased."""
    candidate = (raw or "").strip()
    if not candidate:
        raise InvalidAddress(N_("Please enter an email address."))
    if len(candidate) > MAX_ADDRESS_LENGTH or any(c in candidate for c in "\r\n"):
        raise InvalidAddress(N_("That email address is not valid."))
    try:
        result = validate_email(candidate, check_deliverability=check_deliverability)
    except EmailNotValidError as error:
        raise InvalidAddress(f"That email address is not valid: {error}") from None
    return result.normalized.lower()


def address_hash(normalised: str) -> str:
    """Suppressions keep only this hash, so a suppressed address is not stored in clear."""
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def split_address(address: str) -> tuple[str, str]:
    """(local part, domain), or InvalidAddress when there is no @ with something on both sides."""
    local, at, domain = (address or "").rpartition("@")
    if not at or not local or not domain:
        raise InvalidAddress(f"That email address is not valid: {address!r}")
    return local, domain


@lru_cache(maxsize=4096)
def ascii_domain(domain: str) -> str:
    """The domain as every server understands it: IDNA A-labels (bücher.example -> xn--bcher-kva.example)."""
    if domain.isascii():
        ascii_form = domain
    else:
        try:
            ascii_form = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError as error:
            raise InvalidAddress(f"That domain cannot be written in ASCII: {error}") from None
    if not _ASCII_DOMAIN.fullmatch(ascii_form):
        raise InvalidAddress(f"That domain is not valid: {domain!r}")
    return ascii_form


def wire_address(address: str) -> str:
    """The address as it goes into the envelope and headers: IDNA domain, local part checked (it stays as is)."""
    local, domain = split_address(address)
    if not _LOCAL_PART.fullmatch(local):
        raise InvalidAddress(f"That local part cannot be sent: {local!r}")
    return f"{local}@{ascii_domain(domain)}"


def needs_smtputf8(address: str) -> bool:
    """A non-ASCII local part can only travel where the server offers SMTPUTF8 (RFC 6531); a domain never needs it."""
    return not address.rpartition("@")[0].isascii()


def mailbox_key(address: str) -> str:
    """The mailbox an address really reaches, for rate limits: no case, no +tag, no Gmail dots, IDNA domain."""
    local, domain = split_address(address.strip().lower())
    domain = ascii_domain(domain).lower()
    local = local.split("+", 1)[0] or local
    if domain in GMAIL_DOMAINS:
        domain = GMAIL_DOMAINS[domain]
        local = local.replace(".", "") or local
    return f"{local}@{domain}"
