"""token owners: an API token belongs to the account that made it, and is worth what that account is

Each token gets owner_id (NULL for tokens made by the CLI or the bootstrap ADMIN_TOKEN, which no account owns).
Existing tokens are given the account whose address made them; a token made by another token inherits that
token's owner (the newest earlier token of that name). On every use the owner must be active and still hold
the token's role; deleting the account deletes its tokens.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_api_tokens_owner_id", "admin_users", ["owner_id"], ["id"], ondelete="CASCADE")
        batch_op.create_index(batch_op.f("ix_api_tokens_owner_id"), ["owner_id"], unique=False)
    connection = op.get_bind()
    accounts = {
        email.lower(): account_id
        for account_id, email in connection.execute(sa.text("SELECT id, email FROM admin_users"))
    }
    owners: dict[str, int | None] = {}  # token name -> owner, as the tokens were made in order
    for token_id, name, created_by in connection.execute(
        sa.text("SELECT id, name, created_by FROM api_tokens ORDER BY id")
    ).all():
        maker = (created_by or "").strip()
        owner = owners.get(maker[len("token:") :]) if maker.startswith("token:") else accounts.get(maker.lower())
        owners[name] = owner
        if owner is not None:
            connection.execute(
                sa.text("UPDATE api_tokens SET owner_id = :owner WHERE id = :id"), {"owner": owner, "id": token_id}
            )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_owner_id"))
        batch_op.drop_constraint("fk_api_tokens_owner_id", type_="foreignkey")
        batch_op.drop_column("owner_id")
