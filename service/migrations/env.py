"""Alembic environment: runs migrations on the engine of the configured URL."""

from alembic import context

from service.core.db import engine_for
from service.ops.schema import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations in one transaction; render_as_batch lets SQLite alter tables."""
    url = config.get_main_option("sqlalchemy.url")
    with engine_for(url).connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `newsletter db upgrade`")
run_migrations_online()
