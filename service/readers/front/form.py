"""The subscribe form's checks, field by field, so each error shows under its own field (same checks as the API)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.core.addresses import normalise_address
from service.core.errors import InvalidInput, UnknownList
from service.core.fields import clean_name, clean_timezone
from service.i18n.locales import N_
from service.readers.subscriptions.lookups import lists_by_slug


def field_errors(
    session: Session, *, email: str, name: str, lists: list[str], check_deliverability: bool = False
) -> dict[str, str]:
    """{field: one-line message} for every field that cannot be accepted; empty when the form is fine."""
    errors: dict[str, str] = {}
    if not email.strip():
        errors["email"] = N_("Please enter your email address.")
    else:
        try:
            normalise_address(email, check_deliverability=check_deliverability)
        except InvalidInput as error:
            errors["email"] = error.message
    try:
        clean_name(name)
    except InvalidInput as error:
        errors["name"] = error.message
    try:
        lists_by_slug(session, lists)
    except (InvalidInput, UnknownList) as error:
        errors["list"] = error.message
    return errors


def browser_zone(raw: str) -> str:
    """The zone the page's script read from the browser; one our zone database lacks falls back to the list's."""
    try:
        return clean_timezone(raw, default="") if raw.strip() else ""
    except InvalidInput:
        return ""
