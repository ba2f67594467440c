"""A claim takes at most its batch, whatever plan the database picks for it."""

from __future__ import annotations

from service.core.db import engine_for
from service.delivery import ledger
from service.delivery.schedule import send_now
from service.models import utcnow
from tests.support.edition_stories import day_of_stories
from tests.support.readers import add_readers

READERS = 500
BATCH = 50


def test_a_claim_takes_at_most_a_batch_on_a_fresh_ledger(db, settings, world_news):
    """Proves: a worker claiming a just-planned edition holds SEND_BATCH_SIZE rows, not the whole edition.

    On a ledger PostgreSQL has not analyzed yet (an edition planned a moment ago), the planner ran the claim's
    LIMIT .. FOR UPDATE SKIP LOCKED subquery once per row (a nested loop); each run skipped the rows the
    statement had already taken and handed out new ones, so one claim took 750 rows of a 50-row batch and
    the other workers idled. Hash and merge joins are turned off here to force that plan.
    """
    engine = engine_for(settings.effective_database_url)
    add_readers(engine, world_news.id, READERS)
    day_of_stories(db)
    edition, planned = send_now(settings, db, world_news, utcnow().date(), utcnow())
    assert planned == READERS
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_hashjoin = off")
            conn.exec_driver_sql("SET LOCAL enable_mergejoin = off")
        _, first = ledger.claim(conn, edition_id=edition.id, limit=BATCH, now=utcnow(), lease_seconds=60)
    with engine.begin() as conn:
        _, second = ledger.claim(conn, edition_id=edition.id, limit=BATCH, now=utcnow(), lease_seconds=60)
    assert len(first) == BATCH, f"the claim took {len(first)} rows (batch {BATCH})"
    assert len(second) == BATCH and not {r.delivery_id for r in first} & {r.delivery_id for r in second}
