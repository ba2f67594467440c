"""The Celery app, configured lazily from Settings so importing it has no side effects."""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab
from celery.signals import after_setup_logger, after_setup_task_logger, worker_process_init

from service.core.config import Settings, get_settings


def beat_schedule(settings: Settings) -> dict:
    """Beat only carries triggers; what to send is decided from the database each time."""
    dispatch_every = min(settings.dispatch_interval_seconds, 300.0)
    schedule = {
        "dispatch-due-editions": {
            "task": "service.tasks.dispatch_due",
            "schedule": dispatch_every,
            "options": {"expires": dispatch_every},
        },
        "sweep-deliveries": {
            "task": "service.tasks.sweep_deliveries",
            "schedule": settings.sweep_interval_seconds,
            "options": {"expires": settings.sweep_interval_seconds},
        },
        "check-health": {
            "task": "service.tasks.check_health",
            "schedule": settings.sweep_interval_seconds,
            "options": {"expires": settings.sweep_interval_seconds},
        },
        "poll-feeds": {
            "task": "service.tasks.poll_feeds",
            "schedule": float(settings.feed_poll_interval_seconds),
            "options": {"expires": float(settings.feed_poll_interval_seconds)},
        },
    }
    if settings.delivery_retention_days:
        hour, minute = (int(part) for part in settings.delivery_prune_at.split(":"))
        schedule["prune-ledger"] = {
            "task": "service.tasks.prune_ledger",
            "schedule": crontab(hour=hour, minute=minute),
            "options": {"expires": 3600},
        }
    if settings.bounce_imap_url:
        schedule["poll-bounces"] = {
            "task": "service.tasks.poll_bounces",
            "schedule": float(settings.bounce_poll_interval_seconds),
            "options": {"expires": float(settings.bounce_poll_interval_seconds)},
        }
    return schedule


def celery_config(settings: Settings | None = None) -> dict:
    """Celery settings derived from our Settings: broker, safety flags and the beat schedule."""
    settings = settings or get_settings()
    config = {
        "broker_url": settings.effective_broker_url,
        "broker_connection_retry_on_startup": True,
        "task_default_queue": settings.task_queue,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "timezone": "UTC",
        "enable_utc": True,
        "beat_schedule": beat_schedule(settings),
        "beat_schedule_filename": str((settings.data_dir / "celerybeat-schedule").resolve()),
        "worker_hijack_root_logger": False,
        "worker_send_task_events": True,  # Flower and celery-exporter watch tasks through these events
        "task_send_sent_event": True,
    }
    if settings.effective_broker_url.startswith(("redis://", "rediss://")):
        # celery-redbeat keeps the schedule in Redis under a lock: a second beat waits instead of doubling triggers
        config.update(
            beat_scheduler="redbeat.RedBeatScheduler",
            redbeat_redis_url=settings.effective_broker_url,
            redbeat_key_prefix=f"redbeat:{settings.task_queue}:",
            redbeat_lock_timeout=90,
            beat_max_loop_interval=5,
        )
    if settings.uses_embedded_broker:
        queue = settings.broker_folder / "queue"
        control = settings.broker_folder / "control"
        for folder in (queue, control):
            folder.mkdir(parents=True, exist_ok=True)
        config["broker_transport_options"] = {
            "data_folder_in": str(queue),
            "data_folder_out": str(queue),
            "control_folder": str(control),
        }
    return config


app = Celery("newsletter", include=["service.tasks", "service.readers.tasks"])
app.add_defaults(celery_config)


@worker_process_init.connect
def _fresh_connections_after_fork(**_) -> None:
    """A pool child must not share its parent's database connections."""
    from service.core.db import engine_for, session_factory

    engine_for.cache_clear()
    session_factory.cache_clear()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _our_log_format(logger, **_) -> None:
    """Worker and beat log in LOG_FORMAT (text or JSON), every line with the edition and delivery ids."""
    from service.core.logs import apply_format

    apply_format(logger, get_settings())
