"""What the admin pages and the JSON API accept alike: ids, search text, list slugs, reasons and audit filters."""

from __future__ import annotations

import re

from service.core.errors import InvalidInput
from service.lists import rules as list_rules

LARGEST_ID = 2**31 - 1  # ids are 32-bit INTEGERs on PostgreSQL

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_query(raw: str | None) -> str:
    """A search fragment is one line of text (PostgreSQL refuses NUL outright)."""
    query = (raw or "").strip()
    if CONTROL.search(query) or len(query) > 320:
        raise InvalidInput("Search for up to 320 characters of an address or name, without control characters.")
    return query


def clean_slug(raw: str | None) -> str | None:
    """A list filter: a slug, or nothing (any list); a malformed one is an unknown list."""
    slug = (raw or "").strip()
    if not slug:
        return None
    if not list_rules.SLUG.match(slug):
        raise InvalidInput(f"There is no list called {slug[:64]!r}.")
    return slug


def clean_reason(raw: str | None) -> str:
    """A reason is text for the audit log: required, line breaks allowed, other control characters not."""
    reason = (raw or "").strip()
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", reason):
        raise InvalidInput("The reason may not contain control characters.")
    if not reason:
        raise InvalidInput("Please give a reason; it is kept in the audit log.")
    return reason


LARGEST_ENTRY = 2**63 - 1  # audit_log.id is a BIGINT


def audit_filters(object_type: str | None, object_id: str | None, actor: str | None) -> dict[str, str]:
    """The filters that were given, trimmed; text that no entry can hold (NUL, too long) is refused."""
    given = {"object_type": object_type, "object_id": object_id, "actor": actor}
    limits = {"object_type": 32, "object_id": 64, "actor": 400}
    filters = {}
    for key, value in given.items():
        value = (value or "").strip()
        if value and (len(value) > limits[key] or not value.isprintable()):
            raise InvalidInput(f"{key}: at most {limits[key]} printable characters.")
        if value:
            filters[key] = value
    return filters
