"""edition pause reason: why the service paused an edition by itself

When receivers refuse our sending setup (5.7.x: SPF, DKIM, DMARC, spam blocks) for too many readers in a
row or in a window, the edition is paused and the reason is kept in words, e.g. "paused: 312 of the last
1,000 replies were 5.7.26 SPF failures from gmail.com". Resume clears it.

A nullable column: no table is rebuilt on SQLite, no row rewritten on PostgreSQL.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("editions", sa.Column("pause_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("editions") as batch:
        batch.drop_column("pause_reason")
