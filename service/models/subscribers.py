"""Readers, their subscriptions with the consent record behind each, and addresses never to be mailed."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, utcnow
from service.models.lists import MailingList

if TYPE_CHECKING:  # the ledger's module is imported after this one, so its table follows these in the metadata
    from service.models.editions import Delivery


class SubscriptionStatus(str, enum.Enum):
    """Where a reader stands with one list."""

    unconfirmed = "unconfirmed"
    confirmed = "confirmed"
    unsubscribed = "unsubscribed"


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
    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", passive_deletes=True
    )
    # ...except the ledger: its rows lose the link (ON DELETE SET NULL) so edition figures stay true
    deliveries: Mapped[list[Delivery]] = relationship(passive_deletes="all")


class Subscription(Base):
    """A reader on a list, with the consent record that makes sending lawful."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "list_id", name="uq_subscription"),
        Index("ix_subscriptions_confirmed_at", "confirmed_at"),  # readers gained, per week
        Index("ix_subscriptions_unsubscribed_at", "unsubscribed_at"),  # readers lost
        Index("ix_subscriptions_list_status_subscriber", "list_id", "status", "subscriber_id"),
    )  # search

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
    consent_events: Mapped[list[ConsentEvent]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="ConsentEvent.id"
    )


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
