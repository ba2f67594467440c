"""feed names and freshness: the publisher name a feed gives, and its newest item's time

site_name is the publisher's name read from the feed (its title without sections and taglines, or its
site's host), which an admin's publisher overrides; newest_item_at lets admins see a stale feed without
reading the items table. Existing feeds get their newest item's time from their items; site_name is
filled at the next poll.

Two nullable columns: ALTER TABLE ADD COLUMN, no table is rebuilt on SQLite.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-10 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("feeds", sa.Column("site_name", sa.String(length=300), nullable=True))
    op.add_column("feeds", sa.Column("newest_item_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE feeds SET newest_item_at = (SELECT max(items.published_at) FROM items WHERE items.feed_id = feeds.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("newest_item_at")
        batch.drop_column("site_name")
