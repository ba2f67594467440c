"""edition roll-ups: per-edition figures that outlive the delivery rows pruned after DELIVERY_RETENTION_DAYS

A finished edition older than the retention window gets one edition_rollups row (planned, sent, failed by
kind, skipped, cancelled, bounced, complained, SMTP reply classes, first and last send) before its ledger
rows are deleted in small batches. Bounce rows are kept: their delivery_id goes NULL (ON DELETE SET NULL,
as before), and the new index on it lets PostgreSQL and SQLite do that without reading every bounce.

Plain CREATE TABLE and CREATE INDEX only: no table is rebuilt on SQLite.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 08:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edition_rollups",
        sa.Column("edition_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("planned", sa.Integer(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("failed_by_kind", sa.JSON(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Integer(), nullable=False),
        sa.Column("bounced", sa.Integer(), nullable=False),
        sa.Column("complained", sa.Integer(), nullable=False),
        sa.Column("replies_2xx", sa.Integer(), nullable=False),
        sa.Column("replies_4xx", sa.Integer(), nullable=False),
        sa.Column("replies_5xx", sa.Integer(), nullable=False),
        sa.Column("replies_none", sa.Integer(), nullable=False),
        sa.Column("first_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rolled_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("edition_id"),
    )
    op.create_index("ix_bounces_delivery_id", "bounces", ["delivery_id"])


def downgrade() -> None:
    # editions pruned already keep no figures after this: their ledger rows are gone, only the roll-up had them
    op.drop_index("ix_bounces_delivery_id", table_name="bounces")
    op.drop_table("edition_rollups")
