"""Admin screen: mailing lists — the overview (viewers too), create, edit, archive and reopen."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import available_timezones

from babel import Locale
from fastapi import APIRouter, Depends, Form, Request

from service.admin import audit
from service.admin.identity import Admin
from service.core.errors import InvalidInput
from service.editions.drafts import AUTO, SEND_MODES
from service.i18n.locales import LANGUAGES
from service.lists import changes as list_changes
from service.lists import rules as list_rules
from service.models import MailingList
from service.web.admin.auth import readable_by_viewers
from service.web.admin.render import done, page
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep

router = APIRouter(prefix="/admin")
TIMEZONES = sorted(available_timezones())
LANGUAGE_CHOICES = [(code, str(Locale.parse(code).get_display_name(code)).capitalize()) for code in LANGUAGES]
BLANK = {
    "slug": "",
    "name": "",
    "description": "",
    "send_time": "07:00",
    "timezone": "UTC",
    "double_opt_in": True,
    "local_time_delivery": False,
    "categories": "",
    "languages": "en",
    "language": "",
    "send_mode": AUTO,
}


def split_words(raw: str) -> list[str]:
    """A comma-separated form field as a list ("World News, Science" → two categories)."""
    return [part.strip() for part in raw.split(",") if part.strip()]


def form_values(mailing_list: MailingList) -> dict[str, Any]:
    """A list's settings as the form shows them."""
    return {
        "slug": mailing_list.slug,
        "name": mailing_list.name,
        "description": mailing_list.description,
        "send_time": mailing_list.send_time.strftime("%H:%M"),
        "timezone": mailing_list.timezone,
        "double_opt_in": mailing_list.double_opt_in,
        "local_time_delivery": mailing_list.local_time_delivery,
        "categories": ", ".join(mailing_list.categories),
        "languages": ", ".join(mailing_list.languages or []),
        "language": mailing_list.language or "",
        "send_mode": mailing_list.send_mode,
    }


def _form(
    request: Request,
    *,
    values: dict[str, Any],
    mailing_list: MailingList | None = None,
    error: str | None = None,
    status_code: int = 200,
):
    """The create or edit form, with the typed values and what was wrong with them."""
    title = f"Edit {mailing_list.name}" if mailing_list else "New list"
    return page(
        request,
        "lists/form.html",
        status_code,
        title=title,
        values=values,
        mailing_list=mailing_list,
        error=error,
        timezones=TIMEZONES,
        languages=LANGUAGE_CHOICES,
        send_modes=SEND_MODES,
    )


def _typed(
    name: str = Form(""),
    description: str = Form(""),
    send_time: str = Form("07:00"),
    timezone: str = Form("UTC"),
    double_opt_in: str | None = Form(None),
    local_time_delivery: str | None = Form(None),
    categories: str = Form(""),
    languages: str = Form("en"),
    language: str = Form(""),
    send_mode: str = Form(""),
) -> dict[str, Any]:
    """The submitted form as typed (checkboxes are absent when unticked; the slug is the route's)."""
    return {
        "name": name,
        "description": description,
        "send_time": send_time.strip(),
        "timezone": timezone.strip(),
        "double_opt_in": double_opt_in is not None,
        "local_time_delivery": local_time_delivery is not None,
        "categories": categories,
        "languages": languages,
        "language": language.strip(),
        "send_mode": send_mode.strip(),
    }


Typed = Annotated[dict[str, Any], Depends(_typed)]


def _settings(values: dict[str, Any]) -> dict[str, Any]:
    """The typed values as list settings (validated by service.lists.rules)."""
    return {
        "name": values["name"],
        "description": values["description"],
        "send_time": list_rules.parse_send_time(values["send_time"]),
        "timezone": values["timezone"],
        "double_opt_in": values["double_opt_in"],
        "local_time_delivery": values["local_time_delivery"],
        "categories": split_words(values["categories"]),
        "languages": split_words(values["languages"]),
        "language": values["language"],
    }


def _by(request: Request, admin: Admin) -> dict[str, Any]:
    """Who makes the change, for its audit entry."""
    return {"actor": admin.name, "ip": client_ip(request)}


@router.get("/lists")
@readable_by_viewers
def lists_page(request: Request, admin: CurrentAdmin, session: SessionDep):
    """Every list with its readers, schedule and state."""
    return page(request, "lists/index.html", title="Lists", rows=list_rules.lists_with_readers(session))


@router.get("/lists/new")
def new_list_form(request: Request, admin: CurrentAdmin):
    """An empty form with the usual defaults."""
    return _form(request, values=dict(BLANK))


@router.post("/lists")
def create_list(request: Request, admin: CurrentAdmin, typed: Typed, session: SessionDep, slug: str = Form("")):
    """Create the list; a mistake re-renders the form with the message and what was typed."""
    values = {**typed, "slug": slug.strip(), "send_mode": typed["send_mode"] or AUTO}
    try:
        created = list_rules.create_list(
            session, slug=values["slug"], send_mode=values["send_mode"], **_settings(values), **_by(request, admin)
        )
    except InvalidInput as error:
        session.rollback()
        return _form(request, values=values, error=error.message, status_code=422)
    return done("/admin/lists", f"Created the list {created.slug}.")


@router.get("/lists/{slug}")
def edit_list_form(slug: str, request: Request, admin: CurrentAdmin, session: SessionDep):
    """The list's settings, ready to change."""
    mailing_list = list_rules.get_list(session, slug)
    return _form(request, values=form_values(mailing_list), mailing_list=mailing_list)


@router.post("/lists/{slug}")
def update_list(slug: str, request: Request, admin: CurrentAdmin, typed: Typed, session: SessionDep):
    """Save the changed settings (a form without the send mode keeps it); a mistake re-renders the form."""
    mailing_list = list_rules.get_list(session, slug)
    values = {**typed, "slug": slug, "send_mode": typed["send_mode"] or mailing_list.send_mode}
    try:
        _, changed = list_changes.update_list(
            session, slug, send_mode=typed["send_mode"] or None, **_settings(values), **_by(request, admin)
        )
    except InvalidInput as error:
        session.rollback()
        return _form(request, values=values, mailing_list=mailing_list, error=error.message, status_code=422)
    if not changed:
        return done(f"/admin/lists/{slug}", "Nothing changed.")
    return done("/admin/lists", f"Saved {slug}: {', '.join(sorted(changed))}.")


@router.post("/lists/{slug}/archive")
def archive_list(slug: str, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Close the list to new readers and editions; its readers and history stay."""
    list_changes.archive_list(session, slug)
    audit.record(
        session, actor=admin.name, action="list.archive", object_type="list", object_id=slug, ip=client_ip(request)
    )
    session.commit()
    return done("/admin/lists", f"Archived {slug}: no new readers, no editions, hidden from the subscribe page.")


@router.post("/lists/{slug}/unarchive")
def unarchive_list(slug: str, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Open an archived list again."""
    list_changes.unarchive_list(session, slug)
    audit.record(
        session, actor=admin.name, action="list.unarchive", object_type="list", object_id=slug, ip=client_ip(request)
    )
    session.commit()
    return done("/admin/lists", f"Reopened {slug}.")
