"""Monitoring against real services: /metrics and /readyz on real Redis (and a stopped one), ledger figures,
`newsletter status` with a worker and without, queue depths on every broker kind, JSON logs during a drain."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from datetime import time as dt_time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import redis
import typer
from fastapi.testclient import TestClient
from kombu import Connection
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update
from typer.testing import CliRunner

from service.admin.models import HealthCheck
from service.core.celery_app import app as celery_app
from service.core.celery_app import celery_config
from service.core.config import get_settings
from service.core.db import engine_for
from service.core.logs import configure_logging
from service.delivery.schedule import send_now
from service.delivery.sender import drain
from service.editions import send_moment
from service.lists.rules import create_list
from service.models import Subscriber, Subscription, SubscriptionStatus, utcnow
from service.ops.monitoring import figures, heartbeats, metrics, upcoming
from service.ops.monitoring.checks import SMTP, WORKERS, interval, last_results, run_checks
from service.ops.monitoring.failures import recent_failures
from service.ops.monitoring.queues import queue_depths, redis_keys, workers_online
from service.ops.monitoring.status import snapshot
from tests.conftest import REDIS_URL, RUN_ID
from tests.support.apps import shared_app
from tests.support.edition_stories import day_of_stories
from tests.support.ports import free_port
from tests.support.readers import add_readers

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"


class NoMail:
    """The web app's notifier, unused here: these tests only read."""

    def subscribe_request(self, request) -> None: ...
    def confirmation(self, subscriber_id, list_ids) -> None: ...
    def welcome(self, subscriber_id, list_ids) -> None: ...


def web(settings) -> TestClient:
    """A test client of the real app on these settings."""
    return TestClient(shared_app(settings, notifier=NoMail()))


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus exposition text (parsed, so label order does not matter)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    raise AssertionError(f"{name}{labels} not in metrics:\n{text}")


@pytest.fixture
def queue_name():
    """A queue of this test's own on the real Redis broker, emptied after."""
    name = f"monitor-{RUN_ID}-{time.monotonic_ns()}"
    yield name
    redis.Redis.from_url(REDIS_URL).delete(*redis_keys(name))


def _sent_edition(db, settings, world_news, mailbox):
    """An edition drained in-process against the real SMTP server: 3 sent, 2 failed for good, 1 to retry."""
    engine = engine_for(settings.effective_database_url)
    readers = add_readers(engine, world_news.id, 6)
    mailbox.reply_for.update(
        {
            readers[0]: "550 5.1.1 No such user here",
            readers[1]: "550 5.7.1 Rejected by policy: sender not authorised",
            readers[2]: "451 4.3.0 Try again later",
        }
    )
    day_of_stories(db)
    edition, planned = send_now(settings, db, world_news, utcnow().date(), utcnow())
    assert planned == 6
    drain(settings, edition.id)
    return edition, readers


def test_queue_length_counts_every_redis_priority_sub_queue(settings, queue_name, mailbox):
    for priority in (0, 0, 3, 6, 9):  # Celery's own publishing: kombu files priorities 3/6/9 in sub-lists
        celery_app.send_task("service.tasks.no_such_task", queue=queue_name, priority=priority)
    broker = redis.Redis.from_url(REDIS_URL)
    assert broker.llen(queue_name) == 2 and broker.llen(f"{queue_name}\x06\x169") == 1
    assert queue_depths(settings, [queue_name]).depths == {queue_name: 5}

    mine = settings.model_copy(update={"task_queue": queue_name})
    with web(mine) as client:
        answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert metric(answer.text, "newsletter_queue_length", queue=queue_name) == 5
    assert metric(answer.text, "newsletter_up", check="broker") == 1
    assert metric(answer.text, "newsletter_workers_online") == 0, "no worker consumes this test's queue"


def test_readyz_reports_each_dependency_with_its_latency(settings, mailbox):
    with web(settings) as client:
        answer = client.get("/readyz")
        live = client.get("/healthz")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ok" and set(body["checks"]) == {"database", "broker", "smtp"}
    assert all(check["ok"] and check["latency_ms"] >= 0 and check["error"] is None for check in body["checks"].values())
    assert live.status_code == 200 and live.json() == {"status": "ok"}


def test_a_stopped_broker_makes_readyz_503_and_metrics_still_answer(settings, mailbox):
    down = settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{free_port()}/0"})
    with web(down) as client:
        started = time.monotonic()
        ready = client.get("/readyz")
        scraped = client.get("/metrics")
        elapsed = time.monotonic() - started
    assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
    checks = ready.json()["checks"]
    assert checks["broker"]["ok"] is False and "refused" in checks["broker"]["error"].lower()
    assert checks["database"]["ok"] and checks["smtp"]["ok"]
    assert scraped.status_code == 200
    assert metric(scraped.text, "newsletter_up", check="broker") == 0
    assert metric(scraped.text, "newsletter_up", check="database") == 1
    assert elapsed < 5, "a broker that is down must not hang the probes"
    problems = snapshot(down).problems
    assert any(problem.startswith("broker is down") for problem in problems)


def test_metrics_need_the_bearer_token_when_one_is_set(settings):
    guarded = settings.model_copy(update={"metrics_token": "metrics-token-0123456789"})
    with web(guarded) as client:
        missing = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer metrics-token-012345678X"})
        basic = client.get("/metrics", headers={"Authorization": "Basic metrics-token-0123456789"})
        right = client.get("/metrics", headers={"Authorization": "Bearer metrics-token-0123456789"})
    for refused in (missing, wrong, basic):
        assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
        assert "newsletter_" not in refused.text
    assert right.status_code == 200 and "newsletter_queue_length" in right.text


def test_figures_of_an_edition_with_sent_failed_and_retrying_rows(db, settings, world_news, mailbox):
    edition, readers = _sent_edition(db, settings, world_news, mailbox)
    engine = engine_for(settings.effective_database_url)
    with engine.begin() as conn:  # one reader leaves after the send
        conn.execute(
            update(Subscription)
            .where(
                Subscription.subscriber_id.in_(
                    Subscriber.__table__.select()
                    .with_only_columns(Subscriber.id)
                    .where(Subscriber.email == readers[5])
                    .scalar_subquery()
                )
            )
            .values(status=SubscriptionStatus.unsubscribed, unsubscribed_at=utcnow())
        )
    db.expire_all()

    now = utcnow()
    found = figures.edition_figures(db, edition.id, now=now)
    assert (found.planned, found.sent, found.failed, found.retrying, found.pending) == (6, 3, 2, 1, 1)
    assert found.failed_by_kind == {"no_such_user": 1, "policy": 1}
    assert found.unsubscribed_since == 1 and found.list_slug == "world-news" and found.send_status == "sending"
    assert found.done == 5 and found.progress == pytest.approx(5 / 6)
    assert found.sent_rate == pytest.approx(0.5) and found.failure_rate == pytest.approx(1 / 3)
    assert found.unsubscribe_rate == pytest.approx(1 / 6)
    assert found.rate_per_minute and found.rate_per_minute > 0 and found.eta and found.eta > now
    assert figures.figures_for(db, [edition.id, edition.id], now=now) == {edition.id: found}

    failures = recent_failures(db, edition_id=edition.id)
    assert {(f.email, f.smtp_code, f.failure_kind) for f in failures} == {
        (readers[0], 550, "no_such_user"),
        (readers[1], 550, "policy"),
    }
    assert any("5.7.1" in (f.smtp_reply or "") for f in failures)
    assert upcoming.audience_change(db, now=utcnow()) == [("world-news", 6, 1)]
    assert figures.smtp_reply_classes(db) == {"2xx": 3, "4xx": 1, "5xx": 2, "none": 0}
    assert [e.edition_id for e in figures.active_editions(db, now=utcnow())] == [edition.id]
    assert figures.stuck_leases(db, now=utcnow()) == 0
    assert figures.stuck_leases(db, now=utcnow() + timedelta(days=1)) == 0, "no row is left in sending"

    text = metrics.render(settings).decode()
    labels = {"list": "world-news", "edition": edition.edition_date.isoformat()}
    assert metric(text, "newsletter_deliveries", **labels, status="sent") == 3
    assert metric(text, "newsletter_deliveries", **labels, status="failed") == 2
    assert metric(text, "newsletter_delivery_retries", **labels) == 1
    assert metric(text, "newsletter_send_rate_per_minute", **labels) > 0
    assert metric(text, "newsletter_smtp_replies_total", **{"class": "5xx"}) == 2
    assert metric(text, "newsletter_stuck_leases") == 0


def test_next_send_tells_a_newcomer_when_the_next_edition_goes(db, settings):
    london = create_list(db, slug="morning", name="Morning", send_time=dt_time(7, 0), timezone="Europe/London")
    today = utcnow().astimezone(ZoneInfo("Europe/London")).date()
    moment = send_moment(london, today)
    (before,) = upcoming.next_sends(db, now=moment - timedelta(hours=1))
    assert (before.at, before.edition_date, before.catching_up) == (moment, today, False)
    (late,) = upcoming.next_sends(db, now=moment + timedelta(hours=1))
    assert late.catching_up and late.at == moment + timedelta(hours=1), "still due today: the next tick starts it"
    (newcomer,) = upcoming.next_sends(db, now=moment + timedelta(hours=10))
    assert newcomer.edition_date == today + timedelta(days=1)
    assert newcomer.at == send_moment(london, today + timedelta(days=1)) and newcomer.at.tzinfo is not None
    london.archived_at = utcnow()
    db.commit()
    assert upcoming.next_sends(db, now=moment) == []


def _status_cli(*args: str):
    """`newsletter status` through typer's runner, wide enough for the tables."""
    from service.cli.status import status

    cli = typer.Typer()
    cli.command()(status)
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})


def test_status_with_a_running_worker_is_healthy(db, settings, celery_worker, world_news, mailbox):
    from service.tasks import check_health, dispatch_due, sweep_deliveries

    dispatch_due.apply()  # beat's tick, run here: it records the heartbeat
    sweep_deliveries.apply()
    check_health.delay()  # beat's scheduled SMTP and worker checks, on the worker itself; status reads the answers
    deadline = time.monotonic() + 20
    while not last_results(db, settings, utcnow())[1].consuming(settings.task_queue):
        assert time.monotonic() < deadline, "the worker running the check must count itself"
        db.rollback()
        time.sleep(0.1)
    assert heartbeats.last_seen(db) is not None and heartbeats.last_seen(db, heartbeats.SWEEPER) is not None
    result = _status_cli()
    assert result.exit_code == 0, result.output
    assert "HEALTHY" in result.output and f"test-{RUN_ID}@" in result.output
    assert "1 online on" in result.output and re.search(r"checked \d+ s ago\)", result.output), "the ping's age"
    assert "world-news" in result.output and "next send" in result.output.lower()
    as_json = _status_cli("--json")
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.output)
    assert (
        body["healthy"]
        and body["problems"] == []
        and any(name.startswith(f"test-{RUN_ID}@") for name in body["workers"]["consuming"])
    )
    assert body["next_sends"][0]["list_slug"] == "world-news" and body["beat_age_seconds"] < 60


def test_status_without_a_worker_exits_1_and_says_why(db, settings, mailbox, monkeypatch):
    monkeypatch.setenv("TASK_QUEUE", f"nobody-{RUN_ID}")
    get_settings.cache_clear()
    try:
        run_checks(get_settings(), engine_for(settings.effective_database_url), utcnow())
        result = _status_cli()
        as_json = _status_cli("--json")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert "UNHEALTHY" in result.output and f"no worker online consuming queue 'nobody-{RUN_ID}'" in result.output
    assert "beat has never been seen" in result.output
    assert as_json.exit_code == 1 and json.loads(as_json.output)["healthy"] is False


def test_rabbitmq_queue_depth_by_passive_declare(settings):
    name = f"monitor-{RUN_ID}-{time.monotonic_ns()}"
    rabbit = settings.model_copy(update={"broker_url": RABBITMQ_URL})
    with Connection(RABBITMQ_URL) as connection:
        queue = connection.SimpleQueue(name)
        for number in range(3):
            queue.put({"n": number})
        try:
            deadline = time.monotonic() + 10  # the broker counts a publish once it has routed it
            while (depths := queue_depths(rabbit, [name, f"{name}-missing"]).depths)[name] < 3:
                assert time.monotonic() < deadline, depths
                time.sleep(0.1)
            assert depths == {name: 3, f"{name}-missing": 0}
        finally:
            queue.queue.delete()
            queue.close()
    down = queue_depths(settings.model_copy(update={"broker_url": f"amqp://guest:guest@127.0.0.1:{free_port()}//"}))
    assert not down.ok and "***" in down.error and "guest:guest" not in down.error


def test_filesystem_broker_depth_counts_its_files(settings, tmp_path):
    embedded = settings.model_copy(
        update={
            "broker_url": None,
            "data_dir": tmp_path,  # kombu keeps bindings
            "task_queue": f"fs-{time.monotonic_ns()}",
        }
    )  # per process: a fresh name
    options = celery_config(embedded)["broker_transport_options"]
    with Connection("filesystem://", transport_options=options) as connection:
        queue = connection.SimpleQueue(embedded.task_queue)
        for number in range(4):
            queue.put({"n": number})
        queue.close()
    assert queue_depths(embedded).depths == {embedded.task_queue: 4}
    started = time.monotonic()
    assert workers_online(embedded).online == {} and time.monotonic() - started < 3


def test_json_logs_carry_the_edition_and_delivery_ids_during_a_drain(db, settings, world_news, mailbox):
    stream = io.StringIO()
    target = logging.getLogger("service.delivery")
    handler = configure_logging(settings.model_copy(update={"log_format": "json"}), stream=stream, logger=target)
    try:
        edition, readers = _sent_edition(db, settings, world_news, mailbox)
    finally:
        target.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    policy = [line for line in lines if "policy refusal" in line["message"]]
    assert policy and policy[0]["level"] == "ERROR" and policy[0]["logger"] == "service.delivery.sender"
    assert all(line["edition_id"] == edition.id for line in lines)
    row = db.execute(Subscriber.__table__.select().where(Subscriber.email == readers[1])).one()
    from service.models import Delivery

    delivery = db.query(Delivery).filter_by(edition_id=edition.id, subscriber_id=row.id).one()
    assert policy[0]["delivery_id"] == delivery.id and "time" in policy[0]


def test_a_scrape_reads_the_scheduled_checks_with_their_age_and_distrusts_a_stale_one(db, settings, mailbox):
    engine = engine_for(settings.effective_database_url)
    never = snapshot(settings)
    assert any(p.startswith("smtp is down: never checked") for p in never.problems), never.problems
    assert any(p.startswith("cannot ask the workers: never checked") for p in never.problems), never.problems
    assert metric(metrics.render(settings, never).decode(), "newsletter_check_age_seconds", check="smtp") == -1

    checked_at = utcnow()
    run_checks(settings, engine, checked_at)  # what beat's check_health does every sweep interval
    smtp_down = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{free_port()}"})
    scraped = metrics.render(smtp_down, snapshot(smtp_down, now=checked_at + timedelta(seconds=12))).decode()
    assert metric(scraped, "newsletter_up", check="smtp") == 1, "a scrape opens no SMTP connection: it reads the check"
    assert metric(scraped, "newsletter_check_age_seconds", check="smtp") == pytest.approx(12, abs=1)
    assert metric(scraped, "newsletter_check_age_seconds", check="workers") == pytest.approx(12, abs=1)

    late = interval(settings) * 3 + timedelta(seconds=5)
    stale = snapshot(settings, now=checked_at + late)
    smtp = next(check for check in stale.checks if check.name == SMTP)
    assert not smtp.ok and "stale" in (smtp.error or "") and stale.workers.error and "stale" in stale.workers.error
    said = f"smtp is down: last checked {int(late.total_seconds())} s ago, stale"
    assert any(problem.startswith(said) for problem in stale.problems), stale.problems

    run_checks(smtp_down, engine, utcnow())  # the next scheduled check finds SMTP down
    smtp, workers = last_results(db, smtp_down, utcnow())
    assert not smtp.ok and "refused" in (smtp.error or "").lower() and workers.checked_at is not None
    assert WORKERS in {name for (name,) in db.execute(select(HealthCheck.name))}
