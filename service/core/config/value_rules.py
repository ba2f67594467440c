"""Checks of single setting values, kept apart so settings.py reads as the list of knobs; each raises one line."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator


def readable_accent(value: str) -> str:
    """A colour that white button text cannot be read on is refused at start, not shipped."""
    from service.core.colours import clean_accent
    from service.core.errors import InvalidInput

    try:
        return clean_accent(value)
    except InvalidInput as error:
        raise ValueError(error.message) from None


def plain_name(value: str) -> str:
    """These reach the From header and subjects: names only (no line breaks, no encoded words)."""
    from service.core.errors import InvalidInput
    from service.core.fields import clean_name

    try:
        return clean_name(value, what="it")
    except InvalidInput as error:
        raise ValueError(error.message) from None


def sender_mailbox(value: str) -> str:
    """MAIL_FROM's display name reaches every From header and, unset SITE_*, the subjects: a name, then an address."""
    from email.utils import parseaddr

    from service.core.errors import InvalidInput
    from service.core.fields import clean_name

    try:
        clean_name(value, what="it", max_length=500)
    except InvalidInput as error:
        raise ValueError(error.message) from None
    if "@" not in parseaddr(value)[1]:
        raise ValueError("must look like 'World News <news@example.org>'")
    return value


def rate_limit_syntax(value: str) -> str:
    """A typo here would otherwise surface as a 500 on the first subscribe."""
    from limits import parse

    try:
        parse(value)
    except ValueError:
        raise ValueError("must look like '20/hour' or '3 per day'") from None
    return value


def time_of_day(value: str) -> str:
    """A time of day beat can turn into a daily crontab."""
    if not re.fullmatch(r"([01]?[0-9]|2[0-3]):[0-5][0-9]", value.strip()):
        raise ValueError("must be a time of day as HH:MM (UTC), e.g. '03:30'")
    return value.strip()


# The names service.stories.clustering registers, here so that settings need not load numpy to check one
# (tests/unit/test_clustering_names.py keeps the two equal; ops.startup checks that the chosen one can run here).
CLUSTERING_METHODS = ("tfidf-avg", "tfidf-expand", "minilm-avg", "minilm-expand", "hybrid-expand", "event")


def known_clustering_method(value: str) -> str:
    """A misspelt method would otherwise fail the first feed poll, in a worker's log."""
    if value and value not in CLUSTERING_METHODS:
        raise ValueError(f"unknown method; choose one of {', '.join(CLUSTERING_METHODS)}")
    return value


def database_url_syntax(value: str | None) -> str | None:
    """Caught here, a malformed URL is one line instead of a traceback that prints it."""
    if value is None:
        return value
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        make_url(value)
    except ArgumentError:
        raise ValueError("is not a database URL (e.g. postgresql+psycopg://user:pass@host/db)") from None
    return value


AccentColour = Annotated[str, AfterValidator(readable_accent)]
PlainName = Annotated[str, AfterValidator(plain_name)]
SenderMailbox = Annotated[str, AfterValidator(sender_mailbox)]
RateLimit = Annotated[str, AfterValidator(rate_limit_syntax)]
TimeOfDay = Annotated[str, AfterValidator(time_of_day)]
ClusteringMethod = Annotated[str, AfterValidator(known_clustering_method)]
DatabaseUrl = Annotated[str | None, AfterValidator(database_url_syntax)]
