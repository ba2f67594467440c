"""Stories and the publishers' items they group, and the feeds items are polled from."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlsplit

from sqlalchemy import JSON, Boolean, Date, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, utcnow


class Story(Base):
    """One summarised news story with its key points and sources; one row however often it is taken in."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    story_date: Mapped[date | None] = mapped_column(Date, default=None)
    category: Mapped[str] = mapped_column(String(100), index=True)
    key_points: Mapped[list] = mapped_column(JSON, default=list)
    # Per key point, who said it: {"publisher", "item_url"} in key_points' order; None for hand-written points.
    point_sources: Mapped[list | None] = mapped_column(JSON, default=None)
    source_count: Mapped[int] = mapped_column(default=0)
    sources: Mapped[list] = mapped_column(JSON, default=list)
    link: Mapped[str | None] = mapped_column(String(2000), default=None)
    origin: Mapped[str] = mapped_column(String(16))
    origin_ref: Mapped[str] = mapped_column(String(2000), default="")
    external_id: Mapped[str | None] = mapped_column(String(500), default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    language: Mapped[str | None] = mapped_column(String(16), default=None)  # None: hand-written, any list's
    newest_item_at: Mapped[datetime | None] = mapped_column(default=None, index=True)  # freshness for editions
    hand_written: Mapped[bool] = mapped_column(Boolean, default=False)  # keeps its own key points and count

    items: Mapped[list[Item]] = relationship(back_populates="story", order_by="Item.published_at")

    def points(self) -> list[dict[str, str | None]]:
        """Each key point as {"text", "publisher", "item_url"} (publisher None: the story's own words)."""
        sources = self.point_sources or []
        return [
            {
                "text": str(text),
                "publisher": (sources[n] or {}).get("publisher") if n < len(sources) else None,
                "item_url": (sources[n] or {}).get("item_url") if n < len(sources) else None,
            }
            for n, text in enumerate(self.key_points or [])
        ]


class Item(Base):
    """One publisher's article as it came in (feed entry, JSON item or a seed file's source); stories group them."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"), default=None)
    publisher: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2000), default=None)
    summary: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(16), default=None)
    category: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column(index=True)
    dated: Mapped[bool] = mapped_column(Boolean, default=True)  # False: no usable date, first-seen time stands in
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    vector: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # the clusterer's embedding, kept
    origin: Mapped[str] = mapped_column(String(16), default="feed")

    story: Mapped[Story] = relationship(back_populates="items")


class Feed(Base):
    """An RSS or Atom feed polled for stories, with what the last poll saw."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    category: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(500), default="")
    publisher: Mapped[str | None] = mapped_column(String(300), default=None)  # an admin's name: overrides site_name
    site_name: Mapped[str | None] = mapped_column(String(300), default=None)  # the publisher's name the feed gives
    newest_item_at: Mapped[datetime | None] = mapped_column(default=None)  # its newest item's time: stale or not
    etag: Mapped[str | None] = mapped_column(String(500), default=None)
    last_modified: Mapped[str | None] = mapped_column(String(100), default=None)
    last_polled_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[str] = mapped_column(String(32), default="new")
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def shown_url(self) -> str:
        """The URL as admin pages, the API and the CLI show it: never with its user:password@."""
        return shown_url(self.url)


def shown_url(url: str) -> str:
    """A feed URL as people see it: any user:password@ in it replaced by ***@."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()
