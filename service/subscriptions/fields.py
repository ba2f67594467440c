"""What a reader types about themselves, checked once for every way in (form, API, import, admin)."""
from __future__ import annotations

import re
import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.errors import InvalidInput

MAX_NAME_LENGTH = 200
ENCODED_WORD = re.compile(r"=\?[^?]*\?[bBqQ]\?", re.ASCII)  # RFC 2047 syntax: a name is text, never encoded bytes


def clean_name(raw: str | None) -> str:
    """A display name that is only ever text: no control characters, no encoded-word syntax, valid Unicode."""
    name = (raw or "").strip()
    if any(unicodedata.category(c) in ("Cc", "Cs") or _noncharacter(c) for c in name):
        raise InvalidInput("The name may not contain line breaks, control characters or non-characters.")
    if ENCODED_WORD.search(name):
        raise InvalidInput("The name may not contain '=?...?=' encoded text; please type it as plain text.")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"The name may be at most {MAX_NAME_LENGTH} characters long.")
    return name


def _noncharacter(char: str) -> bool:
    """U+FFFE, U+FFFF and their kin are not text: XML (and so the email templates) refuses them."""
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def clean_timezone(raw: str | None, default: str = "UTC") -> str:
    """An IANA time zone name, checked against the zone database."""
    zone = (raw or "").strip() or default
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"Unknown time zone: {zone!r}.") from None
    return zone
