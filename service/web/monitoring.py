"""Ops endpoints: Prometheus metrics (bearer token when METRICS_TOKEN is set) and the readiness check."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from service.core.config import Settings
from service.ops.monitoring import metrics
from service.ops.monitoring.health import readiness
from service.web.deps import SettingsDep

router = APIRouter()


def _authorised(request: Request, settings: Settings) -> bool:
    """No token configured: open (keep it on a private network); otherwise the exact bearer token, in constant time."""
    if not settings.metrics_token:
        return True
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), settings.metrics_token.encode())


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(request: Request, settings: SettingsDep) -> Response:
    """Prometheus exposition text, gathered fresh at each scrape."""
    if not _authorised(request, settings):
        return Response(
            "missing or wrong bearer token\n",
            status_code=401,
            media_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return Response(metrics.render(settings), media_type=metrics.CONTENT_TYPE)


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request, settings: SettingsDep) -> JSONResponse:
    """Ready when the database, the broker and SMTP all answer; 503 naming what does not."""
    checks = readiness(settings)
    ready = all(check.ok for check in checks)
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": {check.name: check.as_json() for check in checks}},
        status_code=200 if ready else 503,
        headers={"Cache-Control": "no-store"},
    )
