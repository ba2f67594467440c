"""Looking at the database the way an auditor would: how many rows each table holds."""

from __future__ import annotations

from sqlalchemy import func, select

from service.ops.schema import Base


def row_counts(session) -> dict[str, int]:
    """Rows per table, read fresh (nothing cached from earlier in the test)."""
    session.expire_all()
    counts = {
        table.name: session.scalar(select(func.count()).select_from(table)) for table in Base.metadata.sorted_tables
    }
    session.commit()  # end the read transaction so later writers never wait on it
    return counts
