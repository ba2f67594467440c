"""Editions, a list's email for one day, and the delivery ledger that says which copies went out."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.models.base import Base, utcnow
from service.models.lists import MailingList


class Edition(Base):
    """A list's email for one day: a draft an editor can shape until it starts to send, then frozen."""

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
    # why the service paused it by itself (receivers refusing our setup, service.delivery.refusals); resume clears it
    pause_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    # the editor's choices, applied at every (re)assembly of the draft (service.editions.drafts)
    intro: Mapped[str] = mapped_column(Text, default="", server_default="")
    story_edits: Mapped[dict | None] = mapped_column(JSON, default=dict)  # {"<story id>": {"title", "points"}}
    pinned: Mapped[list | None] = mapped_column(JSON, default=list)  # story ids kept whatever the selection says
    dropped: Mapped[list | None] = mapped_column(JSON, default=list)  # story ids never taken
    arrangement: Mapped[list | None] = mapped_column(JSON, default=list)  # the editor's order of story ids
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # +1 per editor change
    frozen_at: Mapped[datetime | None] = mapped_column(default=None)  # content fixed: sending or approved
    frozen_by: Mapped[str | None] = mapped_column(String(400), default=None)  # who approved it ("freeze now")
    assembled_at: Mapped[datetime | None] = mapped_column(default=None)  # last (re)assembly from the stories

    mailing_list: Mapped[MailingList] = relationship()

    @property
    def is_draft(self) -> bool:
        """Still open to the editor and to reassembly: not sending and not frozen."""
        return self.send_status == EditionStatus.draft and self.frozen_at is None


class EditionStatus:
    """Where an edition's sending stands (plain strings, stored as such)."""

    draft = "draft"
    sending = "sending"
    paused = "paused"
    cancelled = "cancelled"
    complete = "complete"
    finished = (complete, cancelled)  # nothing more will be sent: its rows only change by a "retry failed"


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
        Index(
            "ix_deliveries_due",
            "edition_id",
            "due_at",
            postgresql_where=sql_text("due_at IS NOT NULL"),
            sqlite_where=sql_text("due_at IS NOT NULL"),
        ),
        Index(
            "ix_deliveries_lease",
            "lease_token",
            postgresql_where=sql_text("lease_token IS NOT NULL"),
            sqlite_where=sql_text("lease_token IS NOT NULL"),
        ),
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
