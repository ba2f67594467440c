"""Lists readers join, and the story categories each one carries."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.i18n.locales import list_language
from service.models.base import Base, utcnow


class MailingList(Base):
    """A newsletter readers can join, sent daily at its send time in its time zone."""

    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    send_time: Mapped[time] = mapped_column(Time, default=time(7, 0))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    double_opt_in: Mapped[bool] = mapped_column(Boolean, default=True)
    local_time_delivery: Mapped[bool] = mapped_column(Boolean, default=False)
    languages: Mapped[list] = mapped_column(JSON, default=lambda: ["en"])  # ISO 639-1 codes of its stories
    language: Mapped[str | None] = mapped_column(String(8), default=None)  # its emails' and pages'; None: see locale
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)  # archived: no new readers, no editions
    accent_color: Mapped[str | None] = mapped_column(String(7), default=None)  # branding; None: the site's
    sender_name: Mapped[str | None] = mapped_column(String(200), default=None)  # From display name; None: the site's
    # "auto": the edition goes at its send time by itself; "hold": it waits until an editor approves it
    send_mode: Mapped[str] = mapped_column(String(16), default="auto", server_default="auto")

    category_rows: Mapped[list[ListCategory]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def locale(self) -> str:
        """The language its emails and pages speak: the one set, else its first story language we have, else 'en'."""
        return list_language(self.language, self.languages)

    @property
    def categories(self) -> list[str]:
        """The story categories this list's editions are made of."""
        return sorted(row.category for row in self.category_rows)


class ListCategory(Base):
    """A story category a list carries (e.g. "World News")."""

    __tablename__ = "list_categories"
    __table_args__ = (UniqueConstraint("list_id", "category", name="uq_list_category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), index=True)
    category: Mapped[str] = mapped_column(String(100))
