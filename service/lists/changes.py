"""Changing a list once it exists: its settings (checked by the rules it was created by, audited), archiving it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.core.errors import InvalidInput
from service.core.fields import clean_name, clean_timezone
from service.editions.drafts import check_send_mode, set_send_mode
from service.lists.rules import (
    audit_value,
    check_text,
    clean_categories,
    clean_language,
    clean_languages,
    get_list,
    parse_send_time,
    record_change,
)
from service.models import ListCategory, MailingList, utcnow

EDITABLE = (
    "name",
    "description",
    "send_time",
    "timezone",
    "local_time_delivery",
    "double_opt_in",
    "categories",
    "languages",
    "language",
)


def _cleaned(field: str, value: Any) -> Any:
    """One edited field, checked by the same rules as create_list."""
    if field == "send_time":
        return parse_send_time(value) if isinstance(value, str) else value
    if field == "timezone":
        return clean_timezone(value)
    if field == "languages":
        return clean_languages(list(value))
    if field == "language":
        return clean_language(str(value))
    if field == "categories":
        return clean_categories(list(value))
    if field == "name":
        name = clean_name(str(value), what="The list name")  # it reaches subjects and List-Id
        if not name:
            raise InvalidInput("A list name is 1 to 200 characters long.")
        return name
    if field == "description":
        check_text(str(value))
        return str(value).strip()
    return bool(value)


def update_list(
    session: Session, slug: str, *, actor: str, ip: str | None = None, send_mode: str | None = None, **changes: Any
) -> tuple[MailingList, dict[str, Any]]:
    """Change a list's settings and send mode (None: as they are), audited and committed; returns what changed."""
    if send_mode is not None:
        check_send_mode(send_mode)  # refused before anything changes
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidInput(f"A list has no setting called {unknown[0]!r}.")
    mailing_list = get_list(session, slug)
    changed: dict[str, Any] = {}
    for field in EDITABLE:
        if field not in changes or changes[field] is None:
            continue
        value = _cleaned(field, changes[field])
        if field == "categories":
            if sorted(value) != mailing_list.categories:  # keep the rows that stay: (list, category) is unique
                kept = [row for row in mailing_list.category_rows if row.category in value]
                held = {row.category for row in kept}
                mailing_list.category_rows = kept + [ListCategory(category=c) for c in value if c not in held]
                changed[field] = sorted(value)
        elif getattr(mailing_list, field) != value:
            setattr(mailing_list, field, value)
            changed[field] = audit_value(value)
    if changed:
        record_change(session, "list.update", slug, actor, ip, changed)
    session.commit()
    if send_mode is not None and set_send_mode(session, mailing_list, send_mode, actor, ip):
        changed["send_mode"] = send_mode
    return mailing_list, changed


def archive_list(session: Session, slug: str) -> MailingList:
    """Close a list: no new readers, no editions, hidden from the public pages; its readers and history stay."""
    mailing_list = get_list(session, slug)
    if mailing_list.archived_at is None:
        mailing_list.archived_at = utcnow()
        session.flush()
    return mailing_list


def unarchive_list(session: Session, slug: str) -> MailingList:
    """Open an archived list again, as it was."""
    mailing_list = get_list(session, slug)
    mailing_list.archived_at = None
    session.flush()
    return mailing_list
