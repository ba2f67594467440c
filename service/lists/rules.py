"""Mailing list administration rules."""

from __future__ import annotations

import re
from datetime import time
from typing import Any, TypedDict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.admin import audit
from service.core.errors import InvalidInput, UnknownList
from service.core.fields import clean_name, clean_timezone
from service.editions.drafts import AUTO, check_send_mode, set_send_mode
from service.i18n.locales import LANGUAGES, list_language
from service.models import ListCategory, MailingList, Subscription, SubscriptionStatus

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")  # used in OpenAPI patterns too: check with fullmatch
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # not text; PostgreSQL refuses NUL outright
LANGUAGE = re.compile(r"^[a-z]{2,3}$")


class ListSpec(TypedDict):
    """create_list's arguments for a list made from code (the demo list)."""

    slug: str
    name: str
    send_time: time
    timezone: str
    description: str
    categories: list[str]
    languages: list[str]


DEMO_LIST = ListSpec(
    slug="world-news",
    name="World News daily",
    send_time=time(7, 0),
    timezone="Europe/London",
    description="The day's most important world stories, in key points, with their sources.",
    categories=["World News"],
    languages=["en"],
)


def parse_send_time(raw: str) -> time:
    """HH:MM in 24-hour time."""
    try:
        hours, minutes = (int(part) for part in raw.split(":"))
        return time(hours, minutes)
    except ValueError:
        raise InvalidInput(f"Send time must be HH:MM, got {raw!r}.") from None


def create_list(
    session: Session,
    *,
    slug: str,
    name: str,
    description: str = "",
    send_time: time = time(7, 0),
    timezone: str = "UTC",
    double_opt_in: bool = True,
    categories: list[str] | None = None,
    local_time_delivery: bool = False,
    languages: list[str] | None = None,
    language: str | None = None,
    send_mode: str = AUTO,
    actor: str | None = None,
    ip: str | None = None,
    via: str | None = None,
) -> MailingList:
    """A new list, committed; the slug is its stable public identifier. An admin's (actor) is audited."""
    check_send_mode(send_mode)  # refused before anything is stored
    if not SLUG.fullmatch(slug):
        raise InvalidInput("A list slug is lower-case letters, digits and dashes, e.g. world-news.")
    if session.scalar(select(MailingList.id).where(MailingList.slug == slug)):
        raise InvalidInput(f"A list called {slug!r} already exists.")
    check_text(description)
    name = clean_name(name, what="The list name") or slug  # it reaches subjects and List-Id
    mailing_list = MailingList(
        slug=slug,
        name=name,
        description=description,
        send_time=send_time,
        timezone=clean_timezone(timezone),
        double_opt_in=double_opt_in,
        local_time_delivery=local_time_delivery,
        languages=clean_languages(languages or ["en"]),
        language=clean_language(language),
    )
    mailing_list.category_rows = [ListCategory(category=c) for c in clean_categories(categories or [])]
    session.add(mailing_list)
    session.flush()
    if actor is not None:
        details = {"name": mailing_list.name, "send_time": audit_value(send_time), "timezone": mailing_list.timezone}
        record_change(session, "list.create", slug, actor, ip, {**details, "via": via} if via else details)
    set_send_mode(session, mailing_list, send_mode, actor or "system", ip)
    session.commit()
    return mailing_list


def clean_languages(languages: list[str]) -> list[str]:
    """ISO 639-1 codes ('en', 'pt'), each once: an edition carries only stories in these languages."""
    cleaned = list(dict.fromkeys(code.strip().lower() for code in languages if code and code.strip()))
    if not cleaned or any(not LANGUAGE.match(code) for code in cleaned):
        raise InvalidInput("Languages are ISO 639-1 codes such as en, fr or pt.")
    return cleaned


def clean_language(language: str | None) -> str | None:
    """The language a list's emails and pages speak, one we have a catalog for; '' or None: its story language's."""
    code = (language or "").strip().lower()
    if not code:
        return None
    if code not in LANGUAGES:
        raise InvalidInput(f"The list's language must be one of {', '.join(LANGUAGES)}; got {code!r}.")
    return code


def site_languages(session: Session) -> list[str]:
    """The languages the open lists speak, oldest list first: what site-wide pages choose from."""
    rows = session.execute(
        select(MailingList.language, MailingList.languages)
        .where(MailingList.archived_at.is_(None))
        .order_by(MailingList.id)
    )
    return list(dict.fromkeys(list_language(language, languages) for language, languages in rows.all()))


def check_text(*values: str) -> None:
    """Names, descriptions and categories are text: no control characters (line breaks allowed in a description)."""
    if any(CONTROL.search(value or "") for value in values):
        raise InvalidInput("Names, descriptions and categories may not contain control characters.")


def clean_categories(categories: list[str]) -> list[str]:
    """Trimmed, non-empty, each once."""
    check_text(*categories)
    cleaned = list(dict.fromkeys(" ".join(c.split()) for c in categories if c and c.strip()))
    if any(len(c) > 100 for c in cleaned):
        raise InvalidInput("A category name may be at most 100 characters long.")
    return cleaned


def lists_with_readers(session: Session) -> list[tuple[MailingList, int]]:
    """Every list by slug, with how many confirmed readers it has, for `lists list` and admin views."""
    readers = (
        select(Subscription.list_id, func.count().label("readers"))
        .where(Subscription.status == SubscriptionStatus.confirmed)
        .group_by(Subscription.list_id)
        .subquery()
    )
    rows = session.execute(
        select(MailingList, func.coalesce(readers.c.readers, 0))
        .outerjoin(readers, readers.c.list_id == MailingList.id)
        .order_by(MailingList.slug)
    )
    return [(mailing_list, int(count)) for mailing_list, count in rows.all()]


def readers_by_status(session: Session, list_id: int) -> dict[SubscriptionStatus, int]:
    """How many of a list's subscriptions are in each state (states with none left out), for `lists show`."""
    rows = session.execute(
        select(Subscription.status, func.count()).where(Subscription.list_id == list_id).group_by(Subscription.status)
    )
    return {status: int(count) for status, count in rows.all()}


def get_list(session: Session, slug: str) -> MailingList:
    """A list by slug, or UnknownList (a slug that cannot exist is not looked up: the database may refuse it)."""
    mailing_list = session.scalar(select(MailingList).where(MailingList.slug == slug)) if SLUG.fullmatch(slug) else None
    if mailing_list is None:
        raise UnknownList(f"There is no list called {slug!r}.")
    return mailing_list


def ensure_demo_list(session: Session) -> MailingList | None:
    """Give a fresh install something to subscribe to: the demo list, when there are no lists at all."""
    if session.scalar(select(MailingList.id).limit(1)) is not None:
        return None
    return create_list(session, **DEMO_LIST)


def list_for_category(session: Session, category: str) -> MailingList | None:
    """The list to offer a story's readers: the first naming its category, else the first carrying every category."""
    named = (
        select(MailingList)
        .join(ListCategory)
        .where(ListCategory.category == category, MailingList.archived_at.is_(None))
        .order_by(MailingList.id)
        .limit(1)
    )
    return session.scalar(named) or session.scalar(
        select(MailingList)
        .where(~MailingList.category_rows.any(), MailingList.archived_at.is_(None))
        .order_by(MailingList.id)
        .limit(1)
    )


def record_change(
    session: Session, action: str, slug: str, actor: str, ip: str | None, details: dict[str, Any]
) -> None:
    """An admin's change to a list, in the change's transaction."""
    audit.record(session, actor=actor, action=action, object_type="list", object_id=slug, details=details, ip=ip)


def audit_value(value: Any) -> Any:
    """A field's value as the audit log keeps it (JSON)."""
    return value.strftime("%H:%M") if isinstance(value, time) else value


def open_list(session: Session, slug: str) -> MailingList:
    """A list that takes new readers (imports included): archived lists do not."""
    mailing_list = get_list(session, slug)
    if mailing_list.archived_at is not None:
        raise InvalidInput(f"The list {slug!r} is archived and takes no new readers; unarchive it first.")
    return mailing_list
