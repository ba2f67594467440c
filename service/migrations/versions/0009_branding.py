"""branding: the one-row site_branding table, uploaded logos, and each list's own accent and sender name

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_branding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("about", sa.Text(), nullable=False),
        sa.Column("accent_color", sa.String(length=7), nullable=False),
        sa.Column("sender_name", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "brand_logos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["lists.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("list_id"),
    )
    with op.batch_alter_table("lists") as batch_op:
        batch_op.add_column(sa.Column("accent_color", sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column("sender_name", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lists") as batch_op:
        batch_op.drop_column("sender_name")
        batch_op.drop_column("accent_color")
    op.drop_table("brand_logos")
    op.drop_table("site_branding")
