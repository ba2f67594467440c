"""Celery entry point: `celery -A worker worker` and `celery -A worker beat`."""

import sys

from service.ops.startup import ready_or_exit

if {"worker", "beat"} & set(sys.argv[1:]):  # refuse to start on bad settings, an unsafe Python or no database
    ready_or_exit("worker" if "worker" in sys.argv[1:] else "beat")

from service.core.celery_app import app  # only once the settings are known to be good

__all__ = ["app"]
