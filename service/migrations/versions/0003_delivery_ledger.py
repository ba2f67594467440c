"""delivery ledger

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("smtp_code", sa.Integer(), nullable=True),
        sa.Column("smtp_reply", sa.String(length=1000), nullable=True),
        sa.Column("failure_kind", sa.String(length=32), nullable=True),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("edition_id", "subscriber_id", name="uq_delivery"),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_deliveries_claim", ["edition_id", "status", "not_before"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliveries_subscriber_id"), ["subscriber_id"], unique=False)

    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_status", sa.String(length=16), nullable=False, server_default="draft"))
        batch_op.add_column(sa.Column("send_started_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("send_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("lists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("local_time_delivery", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:

    with op.batch_alter_table("lists", schema=None) as batch_op:
        batch_op.drop_column("local_time_delivery")

    with op.batch_alter_table("editions", schema=None) as batch_op:
        batch_op.drop_column("completed_at")
        batch_op.drop_column("send_expires_at")
        batch_op.drop_column("send_started_at")
        batch_op.drop_column("send_status")

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliveries_subscriber_id"))
        batch_op.drop_index("ix_deliveries_claim")

    op.drop_table("deliveries")
