"""bounce review: a report that is not authenticated (no VERP token or signed Message-ID of ours) is held, not applied

`bounces.review` says why a row was held (NULL: authenticated and applied). Rows that could not be parsed were
already kept for review; they are marked so. `bounces.recipient_domain` lets ops count refusals of our setup
(5.7.x) per edition and receiving domain. A plain ADD COLUMN and CREATE INDEX: no table is rebuilt on SQLite.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bounces", sa.Column("review", sa.String(length=32), nullable=True))
    op.add_column("bounces", sa.Column("recipient_domain", sa.String(length=255), nullable=True))
    op.create_index("ix_bounces_review", "bounces", ["review"])
    op.execute("UPDATE bounces SET review = 'unparsed' WHERE kind = 'unparsed'")


def downgrade() -> None:
    op.drop_index("ix_bounces_review", table_name="bounces")
    with op.batch_alter_table("bounces") as batch:
        batch.drop_column("review")
        batch.drop_column("recipient_domain")
