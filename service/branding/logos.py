"""Logo uploads: checked for size and image type (by their bytes, not their name), stored in the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from service.branding.models import BrandLogo
from service.core.errors import InvalidInput
from service.models import utcnow

MAX_LOGO_BYTES = 256 * 1024
# SVG is refused on purpose: it can carry script, and our pages would serve it from our own origin
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(data: bytes) -> str | None:
    """The image's media type from its first bytes (PNG, JPEG, GIF, WebP), or None."""
    for signature, media_type in SIGNATURES:
        if data.startswith(signature):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_logo(data: bytes, max_bytes: int = MAX_LOGO_BYTES) -> str:
    """The media type of an acceptable logo; a one-line InvalidInput for an empty, too large or non-image file."""
    if not data:
        raise InvalidInput("The logo file is empty: choose a PNG, JPEG, GIF or WebP image.")
    if len(data) > max_bytes:
        raise InvalidInput(f"The logo is {len(data) // 1024} KB; the largest allowed is {max_bytes // 1024} KB.")
    media_type = image_type(data)
    if media_type is None:
        raise InvalidInput("The logo is not a PNG, JPEG, GIF or WebP image (SVG is not accepted).")
    return media_type


def _row(session: Session, list_id: int | None) -> BrandLogo | None:
    """The stored logo of the site (None) or of a list."""
    where = BrandLogo.list_id.is_(None) if list_id is None else BrandLogo.list_id == list_id
    return session.scalar(select(BrandLogo).where(where))


def logo_version(session: Session, list_id: int | None) -> int | None:
    """A number that changes with each upload (for cache-busting URLs), or None when there is no logo."""
    where = BrandLogo.list_id.is_(None) if list_id is None else BrandLogo.list_id == list_id
    row = session.scalar(select(BrandLogo).options(load_only(BrandLogo.id, BrandLogo.updated_at)).where(where))
    return None if row is None else int(row.updated_at.timestamp())


def load_logo(session: Session, list_id: int | None) -> BrandLogo | None:
    """The logo with its bytes, for serving."""
    return _row(session, list_id)


def save_logo(session: Session, list_id: int | None, data: bytes, max_bytes: int = MAX_LOGO_BYTES) -> str:
    """Check and store a logo (replacing the previous one) in the caller's transaction; returns its media type."""
    media_type = check_logo(data, max_bytes)
    row = _row(session, list_id) or BrandLogo(list_id=list_id)
    row.content_type, row.data, row.updated_at = media_type, data, utcnow()
    session.add(row)
    return media_type


def remove_logo(session: Session, list_id: int | None) -> bool:
    """Delete a logo in the caller's transaction; True when there was one."""
    row = _row(session, list_id)
    if row is not None:
        session.delete(row)
    return row is not None
