"""What a reader types about themselves, checked once for every way in (form, API, import, admin).

clean_name is also the one check for every other name that reaches a header or a subject: list names, the
site's name and the sender names of the branding, and the SITE_* settings.
"""

from __future__ import annotations

import re
import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.core.errors import InvalidInput

MAX_NAME_LENGTH = 200
ENCODED_WORD = re.compile(r"=\?[^?]*\?[bBqQ]\?", re.ASCII)  # RFC 2047 syntax: a name is text, never encoded bytes


def clean_name(raw: str | None, *, what: str = "The name", max_length: int = MAX_NAME_LENGTH) -> str:
    """A name that is only ever text: no control characters, no encoded-word syntax, valid Unicode (what: 'The
    list name', for the message)."""
    name = (raw or "").strip()
    if any(unicodedata.category(c) in ("Cc", "Cs") or _noncharacter(c) for c in name):
        raise InvalidInput(f"{what} may not contain line breaks, control characters or non-characters.")
    if ENCODED_WORD.search(name):
        raise InvalidInput(f"{what} may not contain '=?...?=' encoded text; please type it as plain text.")
    if len(name) > max_length:
        raise InvalidInput(f"{what} may be at most {max_length} characters long.")
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
