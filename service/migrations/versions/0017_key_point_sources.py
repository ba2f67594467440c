"""key point sources: who said each key point of a feed story (publisher and item link, beside key_points)

Feed stories' key points are sentences of their items; readers see whose they are ("... — Dawn"). The
column holds one {"publisher", "item_url"} per key point, in the same order; NULL for hand-written stories,
whose points are their own. A plain ADD COLUMN: no table is rebuilt on SQLite.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("stories", sa.Column("point_sources", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stories") as batch:
        batch.drop_column("point_sources")
