"""Dates, numbers and lists as each language writes them (CLDR through Babel), for templates and subjects."""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date, format_time
from babel.lists import format_list
from babel.numbers import format_decimal

# English keeps the house style ("Tuesday 24 November 2026"); every other language takes CLDR's own pattern.
LONG_DATE = {"en": "EEEE d MMMM y"}
SHORT_DATE = {"en": "d MMMM y"}
DAY_AND_MONTH = {
    "de": "EEEE, d. MMMM",
    "es": "EEEE, d 'de' MMMM",
    "pt": "EEEE, d 'de' MMMM",
    "uk": "EEEE, d MMMM",
    "ur": "EEEE، d MMMM",
}
CLDR_LOCALE = {"en": "en_GB"}  # lists without the serial comma: 'A, B and C'


def long_date(day: date | datetime, language: str) -> str:
    """Weekday, day, month and year: 'Tuesday 24 November 2026', 'Dienstag, 24. November 2026'."""
    return format_date(day, LONG_DATE.get(language, "full"), locale=language)


def short_date(day: date | datetime, language: str) -> str:
    """Day, month and year: '24 November 2026', '24. November 2026'."""
    return format_date(day, SHORT_DATE.get(language, "long"), locale=language)


def day_and_month(day: date | datetime, language: str) -> str:
    """Weekday, day and month, no year: 'Friday 4 December', 'vendredi 4 décembre'."""
    return format_date(day, DAY_AND_MONTH.get(language, "EEEE d MMMM"), locale=language)


def clock(moment, language: str) -> str:
    """A time of day on the 24-hour clock, with the language's digits and separator."""
    return format_time(moment, "HH:mm", locale=language)


def number(value: int | float, language: str) -> str:
    """A count with the language's grouping ('12,483', '12 483', '12.483')."""
    return format_decimal(value, locale=language)


def joined(items: list[str], language: str) -> str:
    """'A, B and C' in the language ('A, B и C', 'A, B e C')."""
    return format_list(items, locale=CLDR_LOCALE.get(language, language)) if items else ""
