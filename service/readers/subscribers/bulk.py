"""Set-based writes for bulk imports: a whole batch per statement, as arrays on PostgreSQL, executemany on SQLite."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, any_, bindparam, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from service.core.db import insert_ignoring


def postgres(session: Session) -> bool:
    """PostgreSQL takes a whole batch as arrays in one statement; SQLite gets multi-row executemany."""
    return session.get_bind().dialect.name == "postgresql"


def among(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """`column IN values`, as one array parameter on PostgreSQL (thousands of parameters parse slowly)."""
    if postgres(session):
        return cast(
            ColumnElement[bool], column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
        )
    return cast(ColumnElement[bool], column.in_(values))


def _text(value: Any) -> str | None:
    """A value as PostgreSQL's text input for its column type."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def insert_rows(
    session: Session, table: Table, rows: list[dict[str, Any]], *, unique: list[str] | None, returning: Sequence[str]
) -> list[Any]:
    """Insert many rows (ON CONFLICT DO NOTHING when `unique`), returning the named columns of those inserted."""
    if not rows:
        return []
    names = list(rows[0])
    if not postgres(session):
        statement = insert_ignoring(session, table, unique) if unique else table.insert()
        # RETURNING makes SQLAlchemy send many rows per INSERT ("insertmanyvalues"), not one per row
        result = session.connection().execute(statement.returning(*(table.c[n] for n in returning)), rows)
        return list(result)
    dialect = session.get_bind().dialect
    columns = ", ".join(names)
    casts = ", ".join(f"CAST(u.c{i} AS {table.c[n].type.compile(dialect=dialect)})" for i, n in enumerate(names))
    arrays = ", ".join(f"CAST(:p{i} AS TEXT[])" for i in range(len(names)))
    aliases = ", ".join(f"c{i}" for i in range(len(names)))
    conflict = f" ON CONFLICT ({', '.join(unique)}) DO NOTHING" if unique else ""
    sql = (
        f"INSERT INTO {table.name} ({columns}) SELECT {casts} FROM unnest({arrays}) AS u({aliases})"
        f"{conflict} RETURNING {', '.join(returning)}"
    )
    params = {f"p{i}": [_text(row[n]) for row in rows] for i, n in enumerate(names)}
    return list(session.execute(text(sql), params))
