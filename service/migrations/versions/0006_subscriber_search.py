"""subscriber search: trigram indexes on address and name (PostgreSQL), subscriptions by list and status

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00.000000
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_subscriptions_list_status_subscriber", ["list_id", "status", "subscriber_id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        # substring search (LIKE '%fragment%') uses these; SQLite scans, which is fine at its sizes
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_subscribers_email_trgm ON subscribers USING gin (lower(email) gin_trgm_ops)")
        op.execute("CREATE INDEX ix_subscribers_name_trgm ON subscribers USING gin (lower(name) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_subscribers_name_trgm")
        op.execute("DROP INDEX IF EXISTS ix_subscribers_email_trgm")
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriptions_list_status_subscriber")
