"""Attachments the admin pages and the JSON API both answer with, each audited: a reader's data, an import's rejects."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from service.admin import audit
from service.core.config import Settings
from service.readers.subscribers import data_export, jobs
from service.web.common import client_ip


def data_download(
    request: Request, session: Session, settings: Settings, actor: str, subscriber_id: int
) -> JSONResponse:
    """The reader's data as an attachment, with its audit entry (the UI and the API both answer with this)."""
    data = data_export.export_subscriber_data(
        session,
        subscriber_id,
        actor=actor,
        ip=client_ip(request),
        retention_days=settings.delivery_retention_days,
    )
    return JSONResponse(
        data,
        headers={
            "Content-Disposition": f'attachment; filename="subscriber-{subscriber_id}.json"',
            "Cache-Control": "no-store",
        },
    )


def rejected_download(request: Request, session: Session, actor: str, job_id: int) -> Response:
    """The job's rejected rows as a CSV file (line, reason, row), formulas made inert; audited like an export."""
    job = jobs.get_import_job(session, job_id)
    body = "".join(jobs.rejected_csv(job))  # at most REJECTED_KEPT rows: small enough to answer whole
    audit.record(
        session,
        actor=actor,
        action="subscribers.import.rejected",
        object_type="import_job",
        object_id=job.id,
        details={"rows": len(job.rejected or [])},
        ip=client_ip(request),
    )
    session.commit()
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="import-{job_id}-rejected.csv"',
            "Cache-Control": "no-store",
        },
    )
