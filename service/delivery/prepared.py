"""Once-per-message ledger writes on PostgreSQL, sent straight through libpq and answered later.

The drain writes one UPDATE per message. Going through SQLAlchemy and psycopg's cursor costs more CPU
than the statement itself, and waiting for the commit leaves the worker idle. Here the statement is
SQLAlchemy's own compilation (positional `$n`), prepared once per connection, sent with
`PQsendQueryPrepared`, and its answer read by the `Answer` the caller waits on before the next
message's content goes out. Any other connection (SQLite, a transaction) runs the statement at once.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

import psycopg
from psycopg import pq
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect
from sqlalchemy.engine import Connection

Answer = Callable[[], int]  # waits for the statement's answer (once; later calls repeat it); returns its rowcount
_DIALECT = psycopg_dialect.dialect(paramstyle="numeric_dollar")
_COMPILED: dict[int, tuple[bytes, bytes, list[str], dict[str, Any]]] = {}
_NAMES = itertools.count()
UNKNOWN_STATEMENT = b"26000"  # invalid_sql_statement_name: the server no longer knows the prepared statement
_READY: weakref.WeakKeyDictionary[psycopg.Connection, set[bytes]] = weakref.WeakKeyDictionary()  # names prepared


def start(conn: Connection, statement, params: dict[str, Any]) -> Answer:
    """Send `statement` with `params`; the returned function waits for the answer (call it before anything else)."""
    driver = conn.connection.dbapi_connection
    if not isinstance(driver, psycopg.Connection) or not driver.autocommit:
        rowcount = conn.execute(statement, params).rowcount
        return lambda: rowcount
    name, sql, order, constants = _compiled(statement)
    pgconn = driver.pgconn
    ready = _READY.setdefault(driver, set())
    if name not in ready:
        _check(pgconn.prepare(name, sql), "prepare")
        ready.add(name)
    values = {**constants, **params}
    args = [_text(values[field]) for field in order]
    pgconn.send_query_prepared(name, args)
    while pgconn.flush():  # psycopg keeps libpq non-blocking: push the statement out before building the next message
        pass
    return _Pending(driver, name, sql, args)


def answered() -> int:
    """The answer of nothing outstanding: where a drain starts."""
    return 1


class _Pending:
    """The answer to one sent statement, read from the connection the first time it is asked for."""

    def __init__(self, driver: psycopg.Connection, name: bytes, sql: bytes, args: list[bytes | None]):
        self.driver: psycopg.Connection | None = driver
        self.statement = (name, sql, args)
        self.rowcount = 0

    def __call__(self) -> int:
        """Wait for the answer (only the first call reads it)."""
        if self.driver is not None:
            driver, self.driver = self.driver, None
            try:
                self.rowcount = self._read(driver.pgconn)
            except BaseException:
                driver.close()  # results may be left unread: this connection must not be used again
                raise
        return self.rowcount

    def _read(self, pgconn: pq.abc.PGconn) -> int:
        """The statement's rowcount, preparing it again if the session lost it."""
        result = _result(pgconn)
        if _sqlstate(result) == UNKNOWN_STATEMENT:  # the session lost it (DEALLOCATE ALL): prepare, run again
            name, sql, args = self.statement
            _check(pgconn.prepare(name, sql), "prepare")
            result = pgconn.exec_prepared(name, cast(Any, args))  # NULLs are fine for libpq
        _check(result, "update")
        assert result is not None
        return int(result.command_tuples or 0)


def _compiled(statement) -> tuple[bytes, bytes, list[str], dict[str, Any]]:
    """The statement's positional SQL, its parameter order and its constant values, compiled once."""
    if id(statement) not in _COMPILED:
        compiled = statement.compile(dialect=_DIALECT)
        name = f"newsletter_ledger_{next(_NAMES)}".encode()
        _COMPILED[id(statement)] = (
            name,
            str(compiled).encode(),
            list(compiled.positiontup or []),
            dict(compiled.params),
        )
    return _COMPILED[id(statement)]


def _result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    """The statement's result, after reading to the end of its results."""
    result = pgconn.get_result()
    while pgconn.get_result() is not None:
        pass
    return result


def _sqlstate(result: pq.abc.PGresult | None) -> bytes | None:
    """The error's SQLSTATE, if the statement failed."""
    return None if result is None else result.error_field(pq.DiagnosticField.SQLSTATE)


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
