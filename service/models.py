"""SQLAlchemy 2.0 models: lists, subscribers, subscriptions with their consent record, suppressions."""
from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Timezone-aware now, so stored timestamps are never ambiguous."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; we store UTC, so say so before comparing."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base with timezone-aware timestamps everywhere."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


class SubscriptionStatus(str, enum.Enum):
    """Where a reader stands with one list."""

    unconfirmed = "unconfirmed"
    confirmed = "confirmed"
    unsubscribed = "unsubscribed"


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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(default=None)  # archived: no new readers, no editions
    accent_color: Mapped[str | None] = mapped_column(String(7), default=None)  # branding; None: the site's
    sender_name: Mapped[str | None] = mapped_column(String(200), default=None)  # From display name; None: the site's

    category_rows: Mapped[list[ListCategory]] = relationship(cascade="all, delete-orphan", lazy="selectin")

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


class Subscriber(Base):
    """One reader, known by a normalised address."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    paused_until: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # deleting a reader deletes what hangs off it, as the ON DELETE CASCADE foreign keys do in the database
    subscriptions: Mapped[list[Subscription]] = relationship(back_populates="subscriber",
                                                             cascade="all, delete-orphan", passive_deletes=True)
    # ...except the ledger: its rows lose the link (ON DELETE SET NULL) so edition figures stay true
    deliveries: Mapped[list[Delivery]] = relationship(passive_deletes="all")


class Subscription(Base):
    """A reader on a list, with the consent record that makes sending lawful."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("subscriber_id", "list_id", name="uq_subscription"),
                      Index("ix_subscriptions_confirmed_at", "confirmed_at"),  # readers gained, per week
                      Index("ix_subscriptions_unsubscribed_at", "unsubscribed_at"),  # readers lost
                      Index("ix_subscriptions_list_status_subscriber", "list_id", "status", "subscriber_id"))  # search

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"), index=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), index=True)
    status: Mapped[SubscriptionStatus] = mapped_column(
        Enum(SubscriptionStatus, native_enum=False, length=16, name="subscription_status"),
        default=SubscriptionStatus.unconfirmed,
    )
    subscribed_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(512), default=None)
    source: Mapped[str] = mapped_column(String(64), default="form")
    consent_text_version: Mapped[str] = mapped_column(String(64), default="")

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    mailing_list: Mapped[MailingList] = relationship()
    consent_events: Mapped[list[ConsentEvent]] = relationship(cascade="all, delete-orphan", passive_deletes=True,
                                                              order_by="ConsentEvent.id")


class ConsentEvent(Base):
    """Append-only history of consent, kept for audits after the subscription row changes."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(512), default=None)
    source: Mapped[str] = mapped_column(String(64), default="")
    consent_text_version: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class Suppression(Base):
    """An address never to be mailed, stored only as a hash."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Story(Base):
    """One summarised news story with its key points and sources; one row however often it is taken in."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    story_date: Mapped[date | None] = mapped_column(Date, default=None)
    category: Mapped[str] = mapped_column(String(100), index=True)
    key_points: Mapped[list] = mapped_column(JSON, default=list)
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
    publisher: Mapped[str | None] = mapped_column(String(300), default=None)  # overrides the feed's own title
    etag: Mapped[str | None] = mapped_column(String(500), default=None)
    last_modified: Mapped[str | None] = mapped_column(String(100), default=None)
    last_polled_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status: Mapped[str] = mapped_column(String(32), default="new")
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Edition(Base):
    """A list's email for one day: its stories and rendered content, frozen once built."""

    __tablename__ = "editions"
    __table_args__ = (UniqueConstraint("list_id", "edition_date", name="uq_edition_list_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("lists.id", ondelete="CASCADE"), index=True)
    edition_date: Mapped[date] = mapped_column(Date)
    story_ids: Mapped[list] = mapped_column(JSON, default=list)
    window_start: Mapped[datetime] = mapped_column()
    window_end: Mapped[datetime] = mapped_column()
    subject: Mapped[str] = mapped_column(String(300))
    preheader: Mapped[str] = mapped_column(String(300), default="")
    placeholder_key: Mapped[str] = mapped_column(String(32))
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    send_status: Mapped[str] = mapped_column(String(16), default="draft")
    send_started_at: Mapped[datetime | None] = mapped_column(default=None)
    send_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)

    mailing_list: Mapped[MailingList] = relationship()


class EditionStatus:
    """Where an edition's sending stands (plain strings, stored as such)."""

    draft = "draft"
    sending = "sending"
    paused = "paused"
    cancelled = "cancelled"
    complete = "complete"


class DeliveryStatus:
    """Where one (edition, subscriber) send stands; pending and sending are the open states."""

    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"
    cancelled = "cancelled"
    OPEN = (pending, sending)


class Delivery(Base):
    """The ledger: one row per (edition, subscriber); its state says whether that email went out."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("edition_id", "subscriber_id", name="uq_delivery"),
        # Pending rows only, by when they are due; leases are a table of their own. So recording a reply
        # changes no indexed column and PostgreSQL updates the row in place (HOT; fillfactor leaves room).
        Index("ix_deliveries_due", "edition_id", "due_at", postgresql_where=sql_text("due_at IS NOT NULL"),
              sqlite_where=sql_text("due_at IS NOT NULL")),
        Index("ix_deliveries_lease", "lease_token", postgresql_where=sql_text("lease_token IS NOT NULL"),
              sqlite_where=sql_text("lease_token IS NOT NULL")),
        {"postgresql_with": {"fillfactor": 70}},
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    edition_id: Mapped[int] = mapped_column(ForeignKey("editions.id", ondelete="CASCADE"))
    # None: the reader was erased; the row stays so the edition's figures do not change
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.pending)
    not_before: Mapped[datetime] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column(default=None)  # pending: when it may be claimed; else NULL
    attempts: Mapped[int] = mapped_column(default=0)
    lease_token: Mapped[str | None] = mapped_column(String(32), default=None)  # the lease that last held the row
    smtp_code: Mapped[int | None] = mapped_column(default=None)
    smtp_reply: Mapped[str | None] = mapped_column(String(1000), default=None)
    failure_kind: Mapped[str | None] = mapped_column(String(32), default=None)
    message_id: Mapped[str | None] = mapped_column(String(300), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(1000), default=None)


import service.admin.models  # noqa: E402, F401 - registers the admin tables on Base.metadata (migrations, tests)
from service.bounces import models as _bounce_models  # noqa: E402, F401 - registers the bounces table
from service.branding import models as _branding_models  # noqa: E402, F401 - registers the branding tables
from service.delivery import leases as _leases  # noqa: E402, F401 - registers delivery_leases
from service.delivery import reply_counts as _reply_counts  # noqa: E402, F401 - registers edition_reply_counts
from service.delivery import rollup as _rollup  # noqa: E402, F401 - registers edition_rollups
