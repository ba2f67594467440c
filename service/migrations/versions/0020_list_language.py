"""list language: the language a list's emails and reader pages speak (NULL: its first story language, else English)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 08:40:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lists") as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lists") as batch_op:
        batch_op.drop_column("language")
