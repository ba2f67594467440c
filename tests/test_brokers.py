"""The same edition goes out whichever broker carries the triggers: RabbitMQ, or the embedded one of `make run`."""

from __future__ import annotations

import os

import pytest
from celery import Celery
from sqlalchemy import select

from service.core.celery_app import celery_config
from service.core.config import Settings
from service.core.db import engine_for
from service.delivery.schedule import send_now
from service.models import Delivery, DeliveryStatus, utcnow
from tests.support.edition_stories import day_of_stories
from tests.support.processes import Worker
from tests.support.readers import add_readers, wait_until_complete

pytestmark = pytest.mark.processes

RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def _client_and_env(kind: str, service_env: dict[str, str], data_dir) -> tuple[Celery, dict[str, str]]:
    """A Celery client and a worker environment that share one broker of the given kind."""
    env = {**os.environ, **service_env, "TASK_QUEUE": f"brokers-{kind}-{os.getpid()}", "DATA_DIR": str(data_dir)}
    if kind == "amqp":
        env["BROKER_URL"] = RABBITMQ_URL
    else:
        env.pop("BROKER_URL")  # embedded: kombu's filesystem transport under DATA_DIR/broker
    fields = {key.lower(): value for key, value in env.items() if key.lower() in Settings.model_fields}
    client = Celery(set_as_current=False)
    client.config_from_object(celery_config(Settings(**{**fields, "broker_url": env.get("BROKER_URL")})))
    return client, env


@pytest.mark.parametrize("kind", ["amqp", "filesystem"])
def test_edition_is_delivered_through_each_broker(db, settings, world_news, service_env, mailbox, tmp_path, kind):
    readers = add_readers(engine_for(settings.effective_database_url), world_news.id, 25, prefix=f"{kind}-")
    day_of_stories(db, 3)
    edition, planned = send_now(settings, db, world_news, utcnow().date(), utcnow())
    client, env = _client_and_env(kind, service_env, tmp_path)
    worker = Worker(env, tmp_path / "worker.log", f"brokers-{kind}", concurrency=1).start()
    try:
        client.send_task("service.tasks.drain_edition", args=[edition.id])
        wait_until_complete(engine_for(settings.effective_database_url), edition.id, timeout=60)
    finally:
        worker.stop()
    assert planned == len(readers)
    assert sorted(r for m in mailbox.received for r in m.rcpt_tos) == sorted(readers)
    assert set(db.scalars(select(Delivery.status))) == {DeliveryStatus.sent}
