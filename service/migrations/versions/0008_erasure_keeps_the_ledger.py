"""erasure keeps the ledger: deliveries.subscriber_id nullable, ON DELETE SET NULL

Erasing a reader keeps their delivery rows without the link to them, so an edition's figures
(planned, sent, failed) stay what they were.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PG_FK = "deliveries_subscriber_id_fkey"  # PostgreSQL's name for the unnamed key of 0003
SQLITE_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}  # names the reflected key
SQLITE_FK = "fk_deliveries_subscriber_id_subscribers"


def _switch(ondelete: str, nullable: bool) -> None:
    """Recreate the foreign key with another ON DELETE and set the column's nullability."""
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("deliveries", "subscriber_id", existing_type=sa.Integer(), nullable=nullable)
        op.drop_constraint(PG_FK, "deliveries", type_="foreignkey")
        op.create_foreign_key(PG_FK, "deliveries", "subscribers", ["subscriber_id"], ["id"], ondelete=ondelete)
        return
    with op.batch_alter_table("deliveries", recreate="always", naming_convention=SQLITE_NAMES) as batch_op:
        batch_op.alter_column("subscriber_id", existing_type=sa.Integer(), nullable=nullable)
        batch_op.drop_constraint(SQLITE_FK, type_="foreignkey")
        batch_op.create_foreign_key(SQLITE_FK, "subscribers", ["subscriber_id"], ["id"], ondelete=ondelete)


def upgrade() -> None:
    _switch("SET NULL", nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE subscriber_id IS NULL")  # erased readers' rows cannot come back
    _switch("CASCADE", nullable=False)
