"""Queue depths and workers online, for whichever broker is configured (Redis, RabbitMQ, the filesystem one)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.core.config import Settings, redact_url

REDIS_PRIORITY_SEP = "\x06\x16"  # kombu's Redis transport keeps priorities 3, 6, 9 in sub-lists named like this
REDIS_PRIORITY_STEPS = (3, 6, 9)
TIMEOUT = 1.0  # seconds per broker round trip: a status page must answer, broker down or not


@dataclass(frozen=True)
class QueueReport:
    """Messages waiting per queue (and taken but not acknowledged), or why the broker could not say."""

    broker: str
    depths: dict[str, int] = field(default_factory=dict)
    unacked: int | None = None  # Redis only: delivered to a worker, not yet acknowledged
    error: str | None = None

    @property
    def ok(self) -> bool:
        """The broker answered."""
        return self.error is None


@dataclass(frozen=True)
class Workers:
    """Workers that answered, with the queues they consume."""

    online: dict[str, list[str]] = field(default_factory=dict)  # hostname -> queues
    error: str | None = None
    checked_at: datetime | None = None  # set on the stored result of the scheduled check

    def consuming(self, queue: str) -> list[str]:
        """The workers that take tasks from this queue."""
        return sorted(name for name, queues in self.online.items() if queue in queues)


def broker_kind(settings: Settings) -> str:
    """redis, amqp or filesystem, from BROKER_URL."""
    if settings.uses_embedded_broker:
        return "filesystem"
    scheme = settings.effective_broker_url.split("://", 1)[0].split("+")[0]
    return {"rediss": "redis", "pyamqp": "amqp", "amqps": "amqp"}.get(scheme, scheme)


def redis_keys(queue: str) -> list[str]:
    """The Redis lists one Celery queue lives in: the plain one (priority 0) and a sub-list per priority step."""
    return [queue, *(f"{queue}{REDIS_PRIORITY_SEP}{step}" for step in REDIS_PRIORITY_STEPS)]


def queue_depths(settings: Settings, queues: list[str] | None = None) -> QueueReport:
    """Messages waiting in each queue (default: TASK_QUEUE); an unreachable broker is reported, never raised."""
    names = queues or [settings.task_queue]
    kind = broker_kind(settings)
    try:
        if kind == "redis":
            return _redis_depths(settings, names)
        if kind == "filesystem":
            return QueueReport(kind, _folder_depths(settings.broker_folder / "queue", names))
        return QueueReport(kind, _amqp_depths(settings.effective_broker_url, names))
    except Exception as error:  # noqa: BLE001 - any transport error means "cannot tell"
        return QueueReport(kind, error=f"{redact_url(settings.effective_broker_url)}: {_first_line(error)}")


def _redis_depths(settings: Settings, names: list[str]) -> QueueReport:
    """LLEN of each queue's lists, in one pipeline, plus the unacked hash."""
    import redis

    client = redis.Redis.from_url(settings.effective_broker_url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)
    try:
        pipe = client.pipeline(transaction=False)
        for name in names:
            for key in redis_keys(name):
                pipe.llen(key)
        pipe.hlen("unacked")
        answers = pipe.execute()
    finally:
        client.close()
    steps = len(REDIS_PRIORITY_STEPS) + 1
    depths = {name: sum(answers[i * steps : (i + 1) * steps]) for i, name in enumerate(names)}
    return QueueReport("redis", depths, unacked=answers[-1])


def _amqp_depths(url: str, names: list[str]) -> dict[str, int]:
    """A passive queue_declare tells the message count without creating anything; a missing queue holds 0."""
    from amqp.exceptions import NotFound
    from kombu import Connection

    depths = {}
    with Connection(url, connect_timeout=TIMEOUT, transport_options={"max_retries": 0}) as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0)  # no waiting between tries
        for name in names:
            channel: Any = connection.channel()  # an amqp Channel; kombu types it as the abstract StdChannel
            try:
                depths[name] = channel.queue_declare(queue=name, passive=True).message_count
            except NotFound:
                depths[name] = 0  # a passive declare of an unknown queue closes the channel
            finally:
                with contextlib.suppress(Exception):  # the broker may have closed it already
                    channel.close()
    return depths


def _folder_depths(folder: Path, names: list[str]) -> dict[str, int]:
    """The filesystem transport writes one `<time>_<uuid>.<queue>.msg` file per waiting message."""
    files = [entry.name for entry in folder.iterdir()] if folder.is_dir() else []
    return {name: sum(1 for file in files if file.endswith(f".{name}.msg")) for name in names}


if TYPE_CHECKING:
    from celery import Celery

_CONTROL_APPS: dict[tuple[str, str], Celery] = {}


def _control_app(settings: Settings) -> Celery:
    """A Celery app on these settings' broker, only for remote control (the process-wide app may use others)."""
    from celery import Celery

    from service.core.celery_app import celery_config

    key = (settings.effective_broker_url, str(settings.broker_folder))
    if key not in _CONTROL_APPS:
        config = celery_config(settings)
        app = Celery("newsletter-monitor", set_as_current=False)
        app.conf.update(
            broker_url=config["broker_url"],
            broker_connection_retry=False,
            broker_transport_options=config.get("broker_transport_options", {}),
        )
        _CONTROL_APPS[key] = app
    return _CONTROL_APPS[key]


def workers_online(settings: Settings, *, timeout: float = TIMEOUT, broker_ok: bool = True) -> Workers:
    """Workers that answer a broadcast within `timeout`, with their queues; skipped when the broker is down."""
    if not broker_ok:
        return Workers(error="broker unreachable")
    app = _control_app(settings)
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)  # type: ignore[arg-type]
            answers = app.control.inspect(timeout=timeout, connection=connection).active_queues() or {}
    except Exception as error:  # noqa: BLE001 - broker trouble: say so, do not hang
        return Workers(error=_first_line(error))
    return Workers({name: sorted(q["name"] for q in queues or []) for name, queues in answers.items()})


def _first_line(error: BaseException) -> str:
    """Transport errors run long; the first line says what went wrong."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
