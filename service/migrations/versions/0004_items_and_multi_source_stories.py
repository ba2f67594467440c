"""items grouped into multi-source stories; list languages; feed publisher

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=64), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=True),
        sa.Column("publisher", sa.String(length=300), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dated", sa.Boolean(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["feed_id"], ["feeds.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key"),
    )
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index("ix_items_story_id", ["story_id"], unique=False)
        batch_op.create_index("ix_items_published_at", ["published_at"], unique=False)
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("newest_item_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("hand_written", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index("ix_stories_newest_item_at", ["newest_item_at"], unique=False)
    op.execute("UPDATE stories SET newest_item_at = received_at, hand_written = origin <> 'feed'")
    with op.batch_alter_table("lists", schema=None) as batch_op:
        batch_op.add_column(sa.Column("languages", sa.JSON(), nullable=True))
    op.execute("""UPDATE lists SET languages = '["en"]'""")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("publisher", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("publisher")
    with op.batch_alter_table("lists", schema=None) as batch_op:
        batch_op.drop_column("languages")
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_index("ix_stories_newest_item_at")
        batch_op.drop_column("hand_written")
        batch_op.drop_column("newest_item_at")
        batch_op.drop_column("language")
    op.drop_table("items")
