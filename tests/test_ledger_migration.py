"""Migration 0010 on a database in use: pending rows stay claimable, a worker's claimed rows keep their lease, and
nothing else in the ledger (sent rows, the bounces that point at them) changes. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from alembic import command
from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, MetaData, String, Text, Time, insert, select

from service.core.db import engine_for
from service.delivery import control, ledger, ledger_status
from service.models import utcnow
from service.ops import migrate
from tests.conftest import RUN_ID, _drop_postgres_database, _fresh_postgres_database


def _filler(column):
    """A value of the column's type, for NOT NULL columns this test does not care about."""
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, DateTime):
        return datetime(2026, 12, 1, 7, tzinfo=UTC)
    if isinstance(kind, Date):
        return date(2026, 12, 1)
    if isinstance(kind, Time):
        return time(7)
    if isinstance(kind, Integer):
        return 0
    if isinstance(kind, JSON):
        return []
    if isinstance(kind, String | Text):
        return f"x{column.name}"[: getattr(kind, "length", None) or 50]
    return None


def _add(conn, table, **values) -> int:
    """Insert a row with the given values and fillers for every other required column; returns its id."""
    row = {
        column.name: _filler(column)
        for column in table.columns
        if not column.nullable and column.server_default is None and not column.primary_key
    }
    row.update(values)
    return conn.execute(insert(table).values(**row).returning(table.c.id)).scalar_one()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_at_0009(request, tmp_path):
    """A fresh database migrated to the revision before the leases table."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url = _fresh_postgres_database(f"newsletter_migration_{RUN_ID}_{id(request)}")
    command.upgrade(migrate.alembic_config(url), "0009")
    yield url
    engine_for(url).dispose()
    if request.param == "postgresql":
        _drop_postgres_database(url.rsplit("/", 1)[1])


def test_migration_keeps_a_ledger_in_use_working(database_at_0009):
    url = database_at_0009
    engine = engine_for(url)
    tables = MetaData()
    tables.reflect(engine)
    t = tables.tables
    now = utcnow()
    with engine.begin() as conn:
        list_id = _add(conn, t["lists"], slug="migrating")
        edition_id = _add(conn, t["editions"], list_id=list_id, send_status="sending")
        readers = [_add(conn, t["subscribers"], email=f"m{n}@example.org") for n in range(3)]
        common = {"edition_id": edition_id, "not_before": now - timedelta(minutes=5), "attempts": 1}
        sent = _add(conn, t["deliveries"], subscriber_id=readers[0], status="sent", **common)
        _add(conn, t["deliveries"], subscriber_id=readers[1], status="pending", **common)
        _add(
            conn,
            t["deliveries"],
            subscriber_id=readers[2],
            status="sending",
            lease_token="a" * 32,
            lease_expires_at=now - timedelta(seconds=1),
            **common,
        )
        bounce = _add(conn, t["bounces"], delivery_id=sent, kind="hard", message_sha256="b" * 64)

    migrate.upgrade(url)

    with engine.connect() as conn:
        assert ledger_status.has_due(conn, edition_id, utcnow()), "the pending row is claimable after the upgrade"
        assert ledger_status.has_open(conn, edition_id)
        assert ledger_status.stuck(conn, now=utcnow()) == 1, "the claimed row kept its (expired) lease"
        kept = conn.execute(select(t["bounces"].c.delivery_id).where(t["bounces"].c.id == bounce)).scalar_one()
        assert kept == sent, "the bounce still points at its delivery"
    assert control.take_back(engine, now=utcnow()) == 1, "the expired lease's row comes back"
    with engine.begin() as conn:
        _token, batch = ledger.claim(conn, edition_id=edition_id, limit=10, now=utcnow(), lease_seconds=60)
    assert {row.subscriber_id for row in batch} == {readers[1], readers[2]}
    with engine.connect() as conn:
        statuses = dict(conn.execute(select(t["deliveries"].c.subscriber_id, t["deliveries"].c.status)).all())
    assert statuses == {readers[0]: "sent", readers[1]: "sending", readers[2]: "sending"}
