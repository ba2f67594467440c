"""The Celery app, configured lazily from Settings so importing it has no side effects."""
from __future__ import annotations

from celery import Celery

from service.config import get_settings


def celery_config() -> dict:
    """Celery settings derived from our Settings: broker, safety flags and the beat schedule."""
    settings = get_settings()
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
        "beat_schedule": {},
        "beat_schedule_filename": str((settings.data_dir / "celerybeat-schedule").resolve()),
        "worker_hijack_root_logger": False,
    }
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


app = Celery("newsletter", include=["service.tasks"])
app.add_defaults(celery_config)
