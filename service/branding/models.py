"""Tables of branding: the one-row site branding and the uploaded logos (the site's and each list's)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.models import Base, utcnow

SITE_ROW = 1


class SiteBranding(Base):
    """The site's branding as set in the admin UI; an empty field falls back to configuration (SITE_*)."""

    __tablename__ = "site_branding"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    about: Mapped[str] = mapped_column(Text, default="")
    accent_color: Mapped[str] = mapped_column(String(7), default="")
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class BrandLogo(Base):
    """An uploaded logo image: the site's (list_id NULL) or one list's, served from our own origin."""

    __tablename__ = "brand_logos"

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int | None] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), unique=True, default=None)
    content_type: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
