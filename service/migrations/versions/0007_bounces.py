"""bounces: every bounce and complaint report, matched to its delivery by VERP token or recipient

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 09:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bounces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("diagnostic", sa.String(length=1000), nullable=True),
        sa.Column("recipient_hash", sa.String(length=64), nullable=True),
        sa.Column("delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("edition_id", sa.Integer(), nullable=True),
        sa.Column("matched_by", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("message_sha256", sa.String(length=64), nullable=False),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["deliveries.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bounces_received_at", "bounces", ["received_at"], unique=False)
    op.create_index("ix_bounces_subscriber_id", "bounces", ["subscriber_id"], unique=False)
    op.create_index("ix_bounces_message_sha256", "bounces", ["message_sha256"], unique=False)
    op.create_index("ix_bounces_recipient_received", "bounces", ["recipient_hash", "received_at"], unique=False)
    op.create_index("ix_bounces_edition_kind", "bounces", ["edition_id", "kind"], unique=False)


def downgrade() -> None:
    op.drop_table("bounces")
