"""The bounces table: every bounce and complaint report as it came in, matched to a delivery when possible."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.models import Base, utcnow


class Bounce(Base):
    """One recipient of one report (a DSN naming three recipients is three rows); unparsed ones keep the raw text."""

    __tablename__ = "bounces"
    __table_args__ = (
        Index("ix_bounces_recipient_received", "recipient_hash", "received_at"),
        Index("ix_bounces_edition_kind", "edition_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # service.bounces.policy.BounceKind
    status: Mapped[str | None] = mapped_column(String(32), default=None)  # 5.1.1, 4.2.2, 550, abuse...
    diagnostic: Mapped[str | None] = mapped_column(String(1000), default=None)
    recipient_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    delivery_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("deliveries.id", ondelete="SET NULL"),
        default=None,
        index=True,
    )  # indexed: deleting ledger rows (retention) sets this NULL without scanning every bounce
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), default=None, index=True
    )
    edition_id: Mapped[int | None] = mapped_column(ForeignKey("editions.id", ondelete="SET NULL"), default=None)
    matched_by: Mapped[str] = mapped_column(String(16), default="none")  # verp, message-id, recipient, none
    source: Mapped[str] = mapped_column(String(16), default="")  # imap, cli, api
    message_sha256: Mapped[str] = mapped_column(String(64), index=True)  # the same report twice is taken once
    raw: Mapped[str | None] = mapped_column(Text, default=None)  # kept for review: unparsed or not authenticated
    recipient_domain: Mapped[str | None] = mapped_column(String(255), default=None)  # policy refusals per domain
    # why it was held for review and not applied (service.bounces.authenticate.Held); None: authenticated, applied
    review: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
