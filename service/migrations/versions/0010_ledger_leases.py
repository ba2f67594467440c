"""ledger leases in their own table; claim index on pending rows only (HOT updates for recorded outcomes)

Recording a message's outcome is the write made once per message. It used to change `status` and the
lease columns, all indexed, so PostgreSQL wrote a new index entry in every index of the table for each
message. Now only pending rows are in the claim index (`due_at`, NULL for any other state), leases are
rows of `delivery_leases`, and the table leaves room on each page (fillfactor 70): recording an outcome
is a HOT update (on pages written from now on; existing pages keep theirs until the table is rewritten).

SQLite drops and adds columns with plain ALTER TABLE (3.35+): a batch rebuild would drop the table, and its
foreign keys would clear bounces.delivery_id on the way.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 08:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

DUE = sa.text("due_at IS NOT NULL")
LEASED = sa.text("lease_token IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "delivery_leases",
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("edition_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["edition_id"], ["editions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token"),
    )
    op.create_index("ix_delivery_leases_edition_id", "delivery_leases", ["edition_id"])
    op.create_index("ix_delivery_leases_expires_at", "delivery_leases", ["expires_at"])
    op.add_column("deliveries", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE deliveries SET due_at = not_before WHERE status = 'pending'")
    op.execute(
        "INSERT INTO delivery_leases (token, edition_id, expires_at) "
        "SELECT lease_token, min(edition_id), max(lease_expires_at) FROM deliveries "
        "WHERE status = 'sending' AND lease_token IS NOT NULL GROUP BY lease_token"
    )
    op.drop_index("ix_deliveries_claim", table_name="deliveries")
    op.execute("ALTER TABLE deliveries DROP COLUMN lease_expires_at")
    op.create_index("ix_deliveries_due", "deliveries", ["edition_id", "due_at"], postgresql_where=DUE, sqlite_where=DUE)
    op.create_index("ix_deliveries_lease", "deliveries", ["lease_token"], postgresql_where=LEASED, sqlite_where=LEASED)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE deliveries SET (fillfactor = 70)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE deliveries RESET (fillfactor)")
    op.drop_index("ix_deliveries_lease", table_name="deliveries")
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.add_column("deliveries", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("ALTER TABLE deliveries DROP COLUMN due_at")
    op.execute(
        "UPDATE deliveries SET lease_expires_at = COALESCE((SELECT expires_at FROM delivery_leases "
        "WHERE delivery_leases.token = deliveries.lease_token), CURRENT_TIMESTAMP) WHERE status = 'sending'"
    )
    op.create_index("ix_deliveries_claim", "deliveries", ["edition_id", "status", "not_before"])
    op.drop_index("ix_delivery_leases_expires_at", table_name="delivery_leases")
    op.drop_index("ix_delivery_leases_edition_id", table_name="delivery_leases")
    op.drop_table("delivery_leases")
