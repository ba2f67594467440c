"""Admin screen: branding — the site's name, about text, logo, accent colour and sender name, and each list's own.

Every field is checked (the logo by size and by its bytes) before anything is stored, so a bad one changes nothing.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from sqlalchemy.orm import Session

from service.branding import brand as branding
from service.branding.edits import save_list_branding, save_site_branding
from service.branding.logos import logo_version
from service.core.colours import contrast_with_white
from service.core.config import Settings
from service.core.errors import InvalidInput
from service.lists.rules import get_list
from service.models import MailingList
from service.readers.subscriptions.lookups import all_lists
from service.web.admin.render import done, page
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep, SettingsDep

router = APIRouter(prefix="/admin")


def _read_logo(settings: Settings, upload: UploadFile | None) -> bytes | None:
    """The uploaded file's bytes (None: no file chosen), one past the limit so the service can tell it is too big."""
    if upload is None or not upload.filename:
        return None
    return upload.file.read(settings.logo_max_bytes + 1)


def _site_page(
    request: Request,
    session: Session,
    settings: Settings,
    *,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    status_code: int = 200,
):
    """The site form (typed values kept after an error), the effective brand, and each list's overrides."""
    row = branding.site_row(session)
    stored = (
        {"name": row.name, "about": row.about, "accent_color": row.accent_color, "sender_name": row.sender_name}
        if row
        else {"name": "", "about": "", "accent_color": "", "sender_name": ""}
    )
    effective = branding.site_brand(session, settings)
    return page(
        request,
        "branding/index.html",
        status_code,
        title="Branding",
        values=values or stored,
        effective=effective,
        configured=branding.configured_brand(settings),
        error=error,
        lists=[(ml, branding.list_brand(session, settings, ml)) for ml in all_lists(session)],
        contrast=contrast_with_white(effective.accent),
        max_kb=settings.logo_max_bytes // 1024,
    )


@router.get("/branding")
def branding_page(request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep):
    """What readers see: name, about text, logo, accent colour and sender name."""
    return _site_page(request, session, settings)


@router.post("/branding")
def save_site(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    name: str = Form(""),
    about: str = Form(""),
    accent_color: str = Form(""),
    sender_name: str = Form(""),
    remove: str | None = Form(None),
    logo: UploadFile | None = File(None),
):
    """Save the site branding; a mistake re-renders the form with the message and what was typed."""
    typed = {"name": name, "about": about, "accent_color": accent_color, "sender_name": sender_name}
    try:
        changed = save_site_branding(
            session,
            **typed,
            logo=_read_logo(settings, logo),
            remove=bool(remove),
            max_logo_bytes=settings.logo_max_bytes,
            actor=admin.name,
            ip=client_ip(request),
        )
    except InvalidInput as error:
        return _site_page(request, session, settings, values=typed, error=error.message, status_code=422)
    if not changed:
        return done("/admin/branding", "Nothing changed.")
    return done("/admin/branding", f"Saved the site branding: {', '.join(changed)}.")


def _list_page(
    request: Request,
    session: Session,
    settings: Settings,
    mailing_list: MailingList,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
):
    """One list's overrides: accent colour, sender name, logo (empty: the site's)."""
    stored = {"accent_color": mailing_list.accent_color or "", "sender_name": mailing_list.sender_name or ""}
    return page(
        request,
        "branding/list.html",
        status_code,
        title=f"Branding of {mailing_list.name}",
        mailing_list=mailing_list,
        values=values or stored,
        error=error,
        effective=branding.list_brand(session, settings, mailing_list),
        site=branding.site_brand(session, settings),
        has_logo=logo_version(session, mailing_list.id),
        max_kb=settings.logo_max_bytes // 1024,
    )


@router.get("/branding/lists/{slug}")
def list_branding_page(slug: str, request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep):
    """A list's own branding, over the site's."""
    return _list_page(request, session, settings, get_list(session, slug))


@router.post("/branding/lists/{slug}")
def save_list(
    slug: str,
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    accent_color: str = Form(""),
    sender_name: str = Form(""),
    remove: str | None = Form(None),
    logo: UploadFile | None = File(None),
):
    """Save a list's accent colour, sender name and logo; a mistake changes nothing."""
    mailing_list = get_list(session, slug)
    typed = {"accent_color": accent_color, "sender_name": sender_name}
    try:
        changed = save_list_branding(
            session,
            mailing_list,
            **typed,
            logo=_read_logo(settings, logo),
            remove=bool(remove),
            max_logo_bytes=settings.logo_max_bytes,
            actor=admin.name,
            ip=client_ip(request),
        )
    except InvalidInput as error:
        return _list_page(request, session, settings, mailing_list, values=typed, error=error.message, status_code=422)
    if not changed:
        return done(f"/admin/branding/lists/{slug}", "Nothing changed.")
    return done("/admin/branding", f"Saved the branding of {slug}: {', '.join(changed)}.")
