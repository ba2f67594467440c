"""edition reply counts: each finished edition's SMTP reply classes, counted once by the sweeper

/metrics' reply counter read every delivery row at every scrape: seconds per million rows, and a
million-reader list keeps ~90 million rows under the default retention. A finished edition's rows no
longer change, so its counts are stored here (with the completion they belong to) and scrapes count only
the rows of editions still open. Existing finished editions are counted by the sweeper, a few at a time.

A plain CREATE TABLE: no table is rebuilt on SQLite.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 14:30:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edition_reply_counts",
        sa.Column("edition_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replies_2xx", sa.Integer(), nullable=False),
        sa.Column("replies_4xx", sa.Integer(), nullable=False),
        sa.Column("replies_5xx", sa.Integer(), nullable=False),
        sa.Column("replies_none", sa.Integer(), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("edition_id"),
    )


def downgrade() -> None:
    # nothing is lost: the counts are made again from the ledger rows
    op.drop_table("edition_reply_counts")
