"""Beat's dispatch, simulated minute by minute across DST changes: each reader gets each day's edition once, on time."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from service.core.db import engine_for
from service.delivery.schedule import dispatch
from service.lists.rules import create_list
from service.models import Delivery, Edition, Subscriber, as_utc
from tests.support.readers import add_readers

ZONES = (
    "Europe/London",
    "Asia/Kathmandu",
    "America/New_York",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Australia/Lord_Howe",
)
TICK = timedelta(minutes=5)  # beat dispatches at least this often


def _simulate_beats(settings, start: datetime, end: datetime) -> None:
    """Two beats dispatching every tick: the second must never add anything."""
    now = start
    while now < end:
        dispatch(settings, now)
        assert dispatch(settings, now) == [], "a second beat at the same moment starts nothing"
        now += TICK


def _deliveries(db, list_id: int) -> list[tuple[str, str, date, datetime, datetime]]:
    """(email, zone, edition day, not_before, edition started) for every planned row of a list."""
    query = (
        select(
            Subscriber.email, Subscriber.timezone, Edition.edition_date, Delivery.not_before, Edition.send_started_at
        )
        .join(Delivery, Delivery.subscriber_id == Subscriber.id)
        .join(Edition, Edition.id == Delivery.edition_id)
        .where(Edition.list_id == list_id)
    )
    return [(e, z, d, as_utc(nb), as_utc(started)) for e, z, d, nb, started in db.execute(query)]


@pytest.mark.heavy
@pytest.mark.parametrize("dst_day", [date(2026, 3, 29), date(2026, 10, 25)], ids=["spring-forward", "fall-back"])
def test_local_time_delivery_across_a_dst_change(db, settings, dst_day):
    local = create_list(
        db,
        slug="local",
        name="Local time daily",
        send_time=time(7, 0),
        timezone="Europe/London",
        categories=[],
        local_time_delivery=True,
    )
    engine = engine_for(settings.effective_database_url)
    readers = dict(zip(add_readers(engine, local.id, len(ZONES), zones=ZONES), ZONES, strict=True))
    quiet_days = settings.model_copy(update={"skip_empty_editions": False})

    _simulate_beats(
        quiet_days,
        datetime.combine(dst_day - timedelta(days=1), time(12), UTC),
        datetime.combine(dst_day + timedelta(days=1), time(0), UTC),
    )

    rows = [row for row in _deliveries(db, local.id) if row[2] == dst_day]
    assert Counter(email for email, *_ in rows) == Counter(list(readers)), "every reader exactly one edition that day"
    for _email, zone, _day, not_before, started in rows:
        local_moment = not_before.astimezone(ZoneInfo(zone))
        assert (local_moment.date(), local_moment.time()) == (dst_day, time(7, 0)), zone
        assert started <= not_before, f"{zone}: planned before the reader's send time, so it is never late"
    kathmandu = next(nb for _, zone, _, nb, _ in rows if zone == "Asia/Kathmandu")
    assert kathmandu == datetime.combine(dst_day, time(1, 15), UTC), "07:00 at +05:45"


@pytest.mark.heavy
@pytest.mark.parametrize(
    "dst_day, expected_utc",
    [
        (date(2026, 3, 29), time(1, 30)),  # 01:30 does not exist: sent at 02:30 BST, just after the jump
        (date(2026, 10, 25), time(0, 30)),  # 01:30 happens twice: sent at the first, 01:30 BST
    ],
    ids=["missing-hour", "repeated-hour"],
)
def test_list_time_in_the_hour_a_dst_change_skips_or_repeats(db, settings, dst_day, expected_utc):
    night = create_list(
        db, slug="night", name="Night owls", send_time=time(1, 30), timezone="Europe/London", categories=[]
    )
    engine = engine_for(settings.effective_database_url)
    readers = add_readers(engine, night.id, 3)
    quiet_days = settings.model_copy(update={"skip_empty_editions": False})

    _simulate_beats(
        quiet_days,
        datetime.combine(dst_day - timedelta(days=1), time(12), UTC),
        datetime.combine(dst_day + timedelta(days=1), time(12), UTC),
    )

    rows = [row for row in _deliveries(db, night.id) if row[2] == dst_day]
    assert Counter(email for email, *_ in rows) == Counter(readers), (
        "01:30 that day happens once (or not at all): one send"
    )
    started = {row[4] for row in rows}
    assert len(started) == 1
    assert timedelta(0) <= next(iter(started)) - datetime.combine(dst_day, expected_utc, UTC) < TICK


def _tomorrows_send_moment(mailing_list) -> tuple[date, datetime]:
    """Tomorrow in the list's zone and its send time in UTC (stories made now fall in its window)."""
    from service.editions import send_moment

    tomorrow = datetime.now(ZoneInfo(mailing_list.timezone)).date() + timedelta(days=1)
    return tomorrow, send_moment(mailing_list, tomorrow)


def test_edition_starts_at_its_send_time_and_not_after_the_catch_up_window(db, settings, world_news):
    from tests.support.edition_stories import day_of_stories

    add_readers(engine_for(settings.effective_database_url), world_news.id, 2)
    day_of_stories(db, 2)
    tomorrow, due = _tomorrows_send_moment(world_news)
    assert dispatch(settings, due - TICK) == [], "not before its time"
    assert dispatch(settings, due + timedelta(hours=settings.dispatch_catchup_hours, minutes=1)) == [], "too late"
    started = dispatch(settings, due + TICK)
    assert [(s.day, s.planned) for s in started] == [(tomorrow, 2)]
    assert dispatch(settings, due + 2 * TICK) == []


def test_a_day_without_stories_is_skipped(db, settings, world_news):
    add_readers(engine_for(settings.effective_database_url), world_news.id, 2)
    _, due = _tomorrows_send_moment(world_news)
    assert dispatch(settings, due + TICK) == []
    assert db.scalar(select(Edition.id)) is None, "no empty edition is built or sent"
