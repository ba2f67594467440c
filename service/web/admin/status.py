"""The service's status snapshot for the dashboard page and the JSON API, shared for a few seconds between callers."""

from __future__ import annotations

import threading
import time

from fastapi import Request

from service.core.config import Settings
from service.ops.monitoring.status import Status, snapshot

SNAPSHOT_SECONDS = 5.0  # the snapshot asks the broker, the workers and SMTP (about a second): share it briefly

_LOCK = threading.Lock()


def current_status(request: Request, settings: Settings) -> Status:
    """The snapshot, taken at most every SNAPSHOT_SECONDS per app (a dashboard refresh must not pile up probes)."""
    state = request.app.state
    with _LOCK:
        taken = getattr(state, "admin_status_snapshot", None)
        if taken is None or time.monotonic() - taken[0] > SNAPSHOT_SECONDS:
            taken = (time.monotonic(), snapshot(settings))
            state.admin_status_snapshot = taken
    return taken[1]
