"""The brand a page or email shows: the site's (database first, then SITE_* settings), or a list's over it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from email.utils import parseaddr

from sqlalchemy.orm import Session, object_session

from service.branding.logos import logo_version
from service.branding.models import SITE_ROW, SiteBranding
from service.core.colours import clean_accent
from service.core.config import Settings
from service.core.errors import InvalidInput
from service.core.fields import clean_name
from service.core.mail_headers import Mailbox, mailbox_from_config
from service.models import MailingList, utcnow

DEFAULT_ACCENT = "#b3261e"
MAX_NAME = 200
MAX_ABOUT = 2000


@dataclass(frozen=True)
class Brand:
    """What pages and emails show of the site or of one list."""

    name: str
    about: str
    accent: str
    sender_name: str
    logo_url: str | None = None
    list_slug: str | None = None


def configured_brand(settings: Settings) -> Brand:
    """The brand from settings alone: SITE_* values, else MAIL_FROM's display name (no database needed)."""
    from_name = parseaddr(settings.mail_from)[0]
    name = settings.site_name or from_name or "Newsletter"
    return Brand(
        name=name,
        about=settings.site_about,
        accent=settings.site_accent_color or DEFAULT_ACCENT,
        sender_name=settings.site_sender_name or from_name or name,
    )


def site_row(session: Session) -> SiteBranding | None:
    """The stored site branding, if an admin ever saved it."""
    return session.get(SiteBranding, SITE_ROW)


def site_brand(session: Session, settings: Settings) -> Brand:
    """The site's brand: what the admin saved, each empty field falling back to configuration."""
    base = configured_brand(settings)
    row = site_row(session)
    version = logo_version(session, None)
    if row is not None:
        base = replace(
            base,
            name=row.name or base.name,
            about=row.about or base.about,
            accent=row.accent_color or base.accent,
            sender_name=row.sender_name or base.sender_name,
        )
    return replace(base, logo_url=f"/brand/logo?v={version}" if version else None)


def list_brand(session: Session, settings: Settings, mailing_list: MailingList) -> Brand:
    """A list's brand: its name and description, its own accent, sender name and logo where set, else the site's."""
    site = site_brand(session, settings)
    version = logo_version(session, mailing_list.id)
    logo = f"/brand/logo/{mailing_list.slug}?v={version}" if version else site.logo_url
    return Brand(
        name=mailing_list.name,
        about=mailing_list.description or site.about,
        accent=mailing_list.accent_color or site.accent,
        sender_name=mailing_list.sender_name or site.sender_name,
        logo_url=logo,
        list_slug=mailing_list.slug,
    )


def brand_of(settings: Settings, mailing_list: MailingList | None) -> Brand:
    """The brand for an email about a list, read through the list's own session (configuration when detached)."""
    session = object_session(mailing_list) if mailing_list is not None else None
    if session is None or mailing_list is None:
        return configured_brand(settings)
    return list_brand(session, settings, mailing_list)


def brand_for_lists(settings: Settings, lists: list[MailingList]) -> Brand:
    """One list's brand, or the site's for a request that names several."""
    if len(lists) == 1:
        return brand_of(settings, lists[0])
    session = object_session(lists[0]) if lists else None
    return site_brand(session, settings) if session is not None else configured_brand(settings)


def sender(settings: Settings, brand: Brand) -> Mailbox:
    """The From mailbox: MAIL_FROM's address with the brand's sender name."""
    configured = mailbox_from_config(settings.mail_from)
    return Mailbox(brand.sender_name or configured.name, configured.address)


def _text(value: str | None, limit: int, label: str) -> str:
    """A trimmed text field, refused when it is too long."""
    text = (value or "").strip()
    if len(text) > limit:
        raise InvalidInput(f"The {label} may be at most {limit} characters long.")
    if any(ord(c) < 32 and c not in "\r\n\t" for c in text):
        raise InvalidInput(f"The {label} may not contain control characters.")
    return text


def clean_fields(name: str | None, about: str | None, accent: str | None, sender_name: str | None) -> dict[str, str]:
    """Every field checked before anything is stored (a bad one changes nothing)."""
    return {
        "name": clean_name(name, what="The site name", max_length=MAX_NAME),
        "about": _text(about, MAX_ABOUT, "about text"),
        "accent_color": clean_accent(accent),
        "sender_name": clean_name(sender_name, what="The sender name"),
    }


def update_site(session: Session, **fields: str) -> dict[str, list[str]]:
    """Save the site branding in the caller's transaction; returns what changed as {field: [before, after]}."""
    row = site_row(session) or SiteBranding(id=SITE_ROW, name="", about="", accent_color="", sender_name="")
    session.add(row)
    changed = {}
    for key, value in fields.items():
        if getattr(row, key) != value:
            changed[key] = [getattr(row, key), value]
            setattr(row, key, value)
    if changed:
        row.updated_at = utcnow()
    return changed


def update_list(mailing_list: MailingList, *, accent_color: str, sender_name: str) -> dict[str, list[str | None]]:
    """Set a list's own accent and sender name ('' = the site's); returns what changed."""
    changed: dict[str, list[str | None]] = {}
    for key, value in {"accent_color": accent_color or None, "sender_name": sender_name or None}.items():
        if getattr(mailing_list, key) != value:
            changed[key] = [getattr(mailing_list, key), value]
            setattr(mailing_list, key, value)
    return changed
