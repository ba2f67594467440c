"""Feed dates feedparser leaves unparsed: day and month names in other languages, named from CLDR through Babel."""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from babel.dates import get_month_names

# Languages whose month names are read; a token two of them give different months is dropped (precision first).
LOCALES = ("en", "pt", "it", "es", "fr", "de", "nl", "ca", "ro", "sv", "da", "nb", "pl", "cs", "tr", "id")
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)  # before this a date is a default (1970), not news
FUTURE_SLACK = timedelta(days=1)  # clocks and time zones: a day ahead is fine, next year is not
ZONES = {
    "z": 0,
    "ut": 0,
    "utc": 0,
    "gmt": 0,
    "wet": 0,
    "west": 60,
    "bst": 60,
    "cet": 60,
    "cest": 120,
    "met": 60,
    "mest": 120,
    "eet": 120,
    "eest": 180,
    "msk": 180,
    "brt": -180,
    "brst": -120,
    "art": -180,
    "est": -300,
    "edt": -240,
    "cst": -360,
    "cdt": -300,
    "mst": -420,
    "mdt": -360,
    "pst": -480,
    "pdt": -420,
}
DAY_MONTH_YEAR = re.compile(
    r"(?P<day>\d{1,2})\.?\s*(?:de\s+|-|/)?(?P<month>[^\W\d_]{3,}\.?)\s*(?:de\s+|-|/)?,?\s*(?P<year>\d{4})"
    r"(?:[\s,T]+(?:[^\W\d_]{1,5}\s+)?(?P<hour>\d{1,2})[:h](?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?:\s*(?P<zone>[+-]\d{2}:?\d{2}|[A-Za-z]{1,5}(?:[+-]\d{1,2}(?::?\d{2})?)?))?)?"
)


def _folded(word: str) -> str:
    """Lower case without accents or dots: 'Févr.' and 'fevr' are the same token."""
    plain = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in plain if not unicodedata.combining(ch)).strip(".")


@lru_cache(maxsize=1)
def month_tokens() -> dict[str, int]:
    """Every spelling of every month in LOCALES (wide, abbreviated, three-letter cuts), ambiguous ones left out."""
    seen: dict[str, set[int]] = {}
    for locale in LOCALES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, locale).items():
                    for token in {_folded(name), _folded(name)[:3], _folded(name)[:4]}:
                        if len(token) >= 3 and token.isalpha():
                            seen.setdefault(token, set()).add(number)
    return {token: next(iter(months)) for token, months in seen.items() if len(months) == 1}


def _offset(zone: str | None) -> timedelta | None:
    """A zone as an offset from UTC; None for a name we do not know (the time is then read as UTC)."""
    if not zone:
        return timedelta(0)
    if zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:4])
        return timedelta(minutes=-minutes if zone[0] == "-" else minutes)
    named = re.fullmatch(r"([a-z]+)(?:([+-]\d{1,2})(?::?(\d{2}))?)?", zone.casefold())
    if named is None or named.group(1) not in ZONES:
        return None
    extra = int(named.group(2) or 0) * 60 + (int(named.group(3) or 0) if named.group(2) else 0)
    return timedelta(minutes=ZONES[named.group(1)] + extra)


def parse_date(text: str | None) -> datetime | None:
    """'Seg, 24 Set 2018 10:00:00 -0300', 'mer, 16 nov 2022', '3. März 2024 08:15 CET' in UTC; None if unreadable."""
    match = DAY_MONTH_YEAR.search(text or "")
    if match is None:
        return None
    month = month_tokens().get(_folded(match.group("month")))
    day, year = int(match.group("day")), int(match.group("year"))
    if month is None or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    hour, minute, second = (int(match.group(name) or 0) for name in ("hour", "minute", "second"))
    if hour > 23 or minute > 59 or second > 59:
        return None
    offset = _offset(match.group("zone")) or timedelta(0)
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC) - offset


def _from_struct(parsed: Any) -> datetime:
    """feedparser's UTC struct_time as an aware datetime."""
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


def entry_moment(entry: dict[str, Any]) -> datetime | None:
    """An entry's (or a channel's) own time: feedparser's reading, else ours of the raw text; None when it has none."""
    for field in ("published", "updated"):
        parsed = dict.get(entry, f"{field}_parsed")  # dict.get: no feedparser deprecation warning
        if parsed:
            return _from_struct(parsed)
        moment = parse_date(dict.get(entry, field))
        if moment is not None:
            return moment
    return None


def plausible(moment: datetime, now: datetime) -> bool:
    """Not a 1970 default and not next year."""
    return EARLIEST_PLAUSIBLE <= moment <= now + FUTURE_SLACK


def feed_moment(channel: dict[str, Any], now: datetime) -> datetime | None:
    """When the feed says it was last built: the later of the channel's pubDate and lastBuildDate (Atom: updated)."""
    moments = []
    for field in ("published", "updated"):
        parsed = dict.get(channel, f"{field}_parsed")
        moment = _from_struct(parsed) if parsed else parse_date(dict.get(channel, field))
        if moment is not None and plausible(moment, now):
            moments.append(moment)
    return max(moments, default=None)


def undated_bound(dated: Iterable[datetime], feed_built: datetime | None) -> datetime | None:
    """The latest time an undated item may claim: the feed's newest dated item and its own date bound it."""
    bounds = [moment for moment in (max(dated, default=None), feed_built) if moment is not None]
    return min(bounds, default=None)
