"""The languages readers see: their compiled catalogs, their text direction, and choosing one for a request."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from babel import Locale, negotiate_locale

if TYPE_CHECKING:
    from babel.support import NullTranslations

LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "uk", "ur")  # each has a catalog in locale/ but English, the source
DEFAULT = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
log = logging.getLogger(__name__)


def supported(code: str | None) -> str | None:
    """The language of a code we have a catalog for ('pt-BR' -> 'pt'), else None."""
    base = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return base if base in LANGUAGES else None


def list_language(language: str | None, story_languages: Iterable[str] | None) -> str:
    """A list's own language: the one set, else the first of its story languages we speak, else English."""
    for code in (language, *(story_languages or ())):
        found = supported(code)
        if found:
            return found
    return DEFAULT


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> NullTranslations:
    """The compiled catalog (`make` builds the .mo files from the .po sources); English is the source text."""
    from babel.support import NullTranslations, Translations  # babel.dates with it: only where text is shown

    if language == DEFAULT:
        return NullTranslations()
    loaded = Translations.load(str(LOCALE_DIR), [language], DOMAIN)
    if not isinstance(loaded, Translations):
        log.warning("no compiled catalog for %r in %s (run make): showing English", language, LOCALE_DIR)
    return loaded


def direction(language: str) -> str:
    """'rtl' for right-to-left scripts (Urdu), else 'ltr', from CLDR."""
    return (Locale.parse(language).character_order == "right-to-left" and "rtl") or "ltr"


def accepted(header: str | None) -> list[str]:
    """An Accept-Language header's tags, most wanted first (q=0 ones left out)."""
    weighted = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            weighted.append((-quality, position, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(header: str | None, available: Iterable[str]) -> str:
    """The browser's favourite among the available languages, else the first available, else English."""
    offered = list(dict.fromkeys(available)) or [DEFAULT]
    wanted = [tag.replace("-", "_") for tag in accepted(header)]
    found = negotiate_locale(wanted, offered, sep="_") or negotiate_locale(
        [tag.split("_")[0] for tag in wanted], offered, sep="_"
    )
    return found or offered[0]


def N_(message: str) -> str:
    """Mark a message for the catalogs where it is defined; it is translated where it is shown."""
    return message
