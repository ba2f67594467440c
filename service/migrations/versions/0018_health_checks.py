"""health checks: the last result of each scheduled check (SMTP, workers), so a scrape reads instead of asking

A /metrics scrape, the dashboard and `newsletter status` used to open an SMTP connection and ping the workers
(~1 s) every time. Beat now runs those checks on their own schedule and keeps one row per check here.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 07:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "health_checks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("health_checks")
