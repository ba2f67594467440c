"""Engines and sessions, one engine per database URL, built on first use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import psycopg
from sqlalchemy import Table, create_engine, event, exc, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

# libpq's own parameters, so a worker notices a database it can no longer reach (a partition, a server that
# vanished) in about a minute instead of the kernel's ~15 minutes of retransmissions, then retries; the same
# names in DATABASE_URL's query (?tcp_user_timeout=10000) override them.
POSTGRES_CONNECT_ARGS = {
    "connect_timeout": 10,  # seconds for a new connection
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,  # idle and silent
    "tcp_user_timeout": 60_000,  # ms a sent statement may stay unacknowledged before the connection is dropped
}

# What a lost or unreachable database raises: through SQLAlchemy, or straight from psycopg (the drain's
# per-message writes go through libpq directly, see service.delivery.prepared).
DATABASE_UNREACHABLE = (exc.OperationalError, exc.InterfaceError, psycopg.OperationalError)


def _tune_sqlite(dbapi_connection, _record) -> None:
    """WAL and a busy timeout let the web server and workers share one SQLite file."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One pooled engine per URL and process."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    given = make_url(url).query
    defaults = {name: value for name, value in POSTGRES_CONNECT_ARGS.items() if name not in given}
    return create_engine(url, pool_pre_ping=True, connect_args=defaults)


@lru_cache(maxsize=8)
def session_factory(url: str) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit, so results can be read afterwards."""
    return sessionmaker(engine_for(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def insert_ignoring(db: Session | Connection, table: Table, unique: list[str]) -> postgresql.Insert | sqlite.Insert:
    """INSERT .. ON CONFLICT (unique) DO NOTHING, in the dialect of the session or connection."""
    dialect = db.get_bind().dialect if isinstance(db, Session) else db.dialect
    if dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=unique)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=unique)
