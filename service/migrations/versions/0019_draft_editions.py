"""draft editions: an edition stays an editable draft until it starts to send (or an editor freezes it)

Editions gain the editor's choices (introduction, per-story headline and key-point edits, pinned,
dropped and arranged stories), a version for "changed since you opened it", and when and by whom the
content was frozen. Lists gain a send mode: 'auto' sends at the send time, 'hold' waits for approval.
Plain ADD COLUMNs with server defaults: no table is rebuilt on SQLite.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 08:30:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

EDITION_COLUMNS = (
    "intro",
    "story_edits",
    "pinned",
    "dropped",
    "arrangement",
    "version",
    "frozen_at",
    "frozen_by",
    "assembled_at",
)


def upgrade() -> None:
    op.add_column("editions", sa.Column("intro", sa.Text(), nullable=False, server_default=""))
    op.add_column("editions", sa.Column("story_edits", sa.JSON(), nullable=True))
    op.add_column("editions", sa.Column("pinned", sa.JSON(), nullable=True))
    op.add_column("editions", sa.Column("dropped", sa.JSON(), nullable=True))
    op.add_column("editions", sa.Column("arrangement", sa.JSON(), nullable=True))
    op.add_column("editions", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("editions", sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("editions", sa.Column("frozen_by", sa.String(length=400), nullable=True))
    op.add_column("editions", sa.Column("assembled_at", sa.DateTime(timezone=True), nullable=True))
    # editions that started sending were frozen then; built, unsent ones become editable drafts
    op.execute("UPDATE editions SET frozen_at = created_at WHERE send_status <> 'draft'")
    op.add_column("lists", sa.Column("send_mode", sa.String(length=16), nullable=False, server_default="auto"))


def downgrade() -> None:
    with op.batch_alter_table("lists") as batch:
        batch.drop_column("send_mode")
    with op.batch_alter_table("editions") as batch:
        for name in EDITION_COLUMNS:
            batch.drop_column(name)
