"""Once-per-message ledger writes on PostgreSQL, sent straight through libpq and answered later.

The drain writes one UPDATE per message. Going through SQLAlchemy and psycopg's cursor costs more CPU
than the statement itself, and waiting for the commit leaves the worker idle. Here the statement is
SQLAlchemy's own compilation (positional `$n`), prepared once per connection, sent with
`PQsendQueryPrepared`, and its answer read by the `Answer` the caller waits on before the next
message's content goes out. Any other connection (SQLite, a transaction) runs the statement at once.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.engine import Connection

Answer = Callable[[], int]  # waits for the statement's answer (once; later calls repeat it); returns its rowcount
_DIALECT = psycopg_dialect.dialect(paramstyle="numeric_dollar")
_COMPILED: dict[int, tuple[bytes, bytes, list[str], dict[str, Any]]] = {}
_NAMES = itertools.count()
_READY: set[tuple[int, int, bytes]] = set()  # (connection object, backend pid, statement name) prepared there


def start(conn: Connection, statement, params: dict[str, Any]) -> Answer:
    """Send `statement` with `params`; the returned function waits for the answer (call it before anything else)."""
    driver = conn.connection.dbapi_connection
    if not isinstance(driver, psycopg.Connection) or not driver.autocommit:
        rowcount = conn.execute(statement, params).rowcount
        return lambda: rowcount
    name, sql, order, constants = _compiled(statement)
    pgconn = driver.pgconn
    key = (id(driver), pgconn.backend_pid, name)
    if key not in _READY:
        _check(pgconn.prepare(name, sql), "prepare")
        _READY.add(key)
    values = {**constants, **params}
    pgconn.send_query_prepared(name, [_text(values[field]) for field in order])
    return _Pending(pgconn)


def answered() -> int:
    """The answer of nothing outstanding: where a drain starts."""
    return 1


class _Pending:
    """The answer to one sent statement, read from the connection the first time it is asked for."""

    def __init__(self, pgconn: pq.abc.PGconn):
        self.pgconn: pq.abc.PGconn | None = pgconn
        self.rowcount = 0

    def __call__(self) -> int:
        """Wait for the answer (only the first call reads it)."""
        if self.pgconn is not None:
            pgconn, self.pgconn = self.pgconn, None
            self.rowcount = _answer(pgconn)
        return self.rowcount


def _compiled(statement) -> tuple[bytes, bytes, list[str], dict[str, Any]]:
    """The statement's positional SQL, its parameter order and its constant values, compiled once."""
    if id(statement) not in _COMPILED:
        compiled = statement.compile(dialect=_DIALECT)
        name = f"newsletter_ledger_{next(_NAMES)}".encode()
        _COMPILED[id(statement)] = (name, str(compiled).encode(), list(compiled.positiontup or []),
                                    dict(compiled.params))
    return _COMPILED[id(statement)]


def _answer(pgconn: pq.abc.PGconn) -> int:
    """Read the statement's result (and the end of its results); raise on an error like psycopg would."""
    result = pgconn.get_result()
    while pgconn.get_result() is not None:
        pass
    _check(result, "update")
    assert result is not None
    return int(result.command_tuples or 0)


def _check(result: pq.abc.PGresult | None, what: str) -> None:
    """A failed statement stops the drain, as any database error does."""
    if result is None or result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
        message = (result.error_message if result is not None else b"no result").decode("utf-8", "replace").strip()
        raise psycopg.OperationalError(f"ledger {what} failed: {message}")


def _text(value: Any) -> bytes | None:
    """A parameter in PostgreSQL's text format (the statement casts each one to its column's type)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat().encode()
    if isinstance(value, bool):
        return b"true" if value else b"false"
    return str(value.value if hasattr(value, "value") else value).encode()
