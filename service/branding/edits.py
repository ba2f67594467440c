"""The admin's branding edits: every field (and the logo, by size and bytes) checked before anything is stored.

A bad field raises InvalidInput and changes nothing; a change commits with its audit entry, so neither is kept alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.admin import audit
from service.branding.brand import clean_fields, update_list, update_site
from service.branding.logos import check_logo, remove_logo, save_logo
from service.core.colours import clean_accent
from service.core.fields import clean_name
from service.models import MailingList


def save_site_branding(
    session: Session,
    *,
    name: str,
    about: str,
    accent_color: str,
    sender_name: str,
    logo: bytes | None,
    remove: bool,
    max_logo_bytes: int,
    actor: str,
    ip: str | None = None,
) -> list[str]:
    """Check, store and audit the site's branding (logo None: keep it); returns the changed fields, sorted."""
    fields = clean_fields(name, about, accent_color, sender_name)
    if logo is not None:
        check_logo(logo, max_logo_bytes)
    changed: dict[str, Any] = update_site(session, **fields)
    _apply_logo(session, None, changed, logo, remove, max_logo_bytes)
    if changed:
        audit.record(
            session,
            actor=actor,
            action="branding.update",
            object_type="branding",
            object_id="site",
            details=changed,
            ip=ip,
        )
        session.commit()
    return sorted(changed)


def save_list_branding(
    session: Session,
    mailing_list: MailingList,
    *,
    accent_color: str,
    sender_name: str,
    logo: bytes | None,
    remove: bool,
    max_logo_bytes: int,
    actor: str,
    ip: str | None = None,
) -> list[str]:
    """Check, store and audit a list's own accent, sender name and logo; returns the changed fields, sorted."""
    accent, sender = clean_accent(accent_color), clean_name(sender_name, what="The sender name")
    if logo is not None:
        check_logo(logo, max_logo_bytes)
    changed: dict[str, Any] = update_list(mailing_list, accent_color=accent, sender_name=sender)
    _apply_logo(session, mailing_list.id, changed, logo, remove, max_logo_bytes)
    if changed:
        audit.record(
            session,
            actor=actor,
            action="branding.list_update",
            object_type="list",
            object_id=mailing_list.slug,
            details=changed,
            ip=ip,
        )
        session.commit()
    return sorted(changed)


def _apply_logo(
    session: Session,
    list_id: int | None,
    changed: dict[str, Any],
    logo: bytes | None,
    remove: bool,
    max_logo_bytes: int,
) -> None:
    """Store the new logo, or remove the old one when asked (noted in `changed` only when there was one)."""
    if logo is not None:
        changed["logo"] = save_logo(session, list_id, logo, max_logo_bytes)
    elif remove and remove_logo(session, list_id):
        changed["logo"] = "removed"
