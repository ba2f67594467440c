"""What an admin's import request does, for the imports page and the JSON API alike: start one, show its progress."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request, UploadFile
from sqlalchemy.orm import Session

from service.admin.models import ImportJob, ImportStatus
from service.core.config import Settings
from service.core.errors import InvalidInput, ServiceUnavailable
from service.lists import rules as list_rules
from service.readers.subscribers import jobs
from service.web.common import client_ip
from service.web.deps import CurrentAdmin

log = logging.getLogger(__name__)

NEEDS_REASON = "A pre-confirmed import needs a reason: say how these readers agreed to get this list."

BROKER_DOWN = "The import was not started: the task queue cannot be reached. Please try again in a few minutes."


def queue_import(session: Session, job: ImportJob) -> None:
    """Hand the job to a worker through the broker; a down broker fails the job (nothing half-done) and says so."""
    from kombu.exceptions import OperationalError

    from service.tasks import import_subscribers

    try:
        import_subscribers.apply_async(
            args=(job.id,),
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1},
        )
    except OperationalError as error:
        log.error("broker unreachable, import job %s not queued: %s", job.id, error)
        job.status, job.error = ImportStatus.failed, BROKER_DOWN
        session.commit()
        raise ServiceUnavailable(BROKER_DOWN) from None


def start_import(
    request: Request,
    session: Session,
    settings: Settings,
    admin: CurrentAdmin,
    *,
    list_slug: str,
    upload: UploadFile,
    confirmed: bool,
    reason: str,
) -> ImportJob:
    """Check the choice, store the upload with its (audited) job, and queue it; the UI and the API share this."""
    if confirmed and not reason.strip():
        raise InvalidInput(NEEDS_REASON)
    list_rules.open_list(session, list_slug)
    job = jobs.create_import_job(
        session,
        settings,
        list_slug=list_slug,
        filename=upload.filename or "upload.csv",
        source=upload.file,
        confirmed=confirmed,
        reason=reason,
        created_by=admin.name,
        ip=client_ip(request),
    )
    queue_import(session, job)
    return job


def progress_of(job: ImportJob) -> dict[str, Any]:
    """What the progress bar and the report show: {"fraction", "label", "done"} and the counts."""
    fraction = jobs.import_progress(job)
    finished = job.status in (ImportStatus.done, ImportStatus.failed)
    if job.status == ImportStatus.queued:
        label = "Waiting for a worker…"
    elif job.status == ImportStatus.running:
        label = f"{fraction:.0%} · {job.rows:,} rows read"
    elif job.status == ImportStatus.done:
        label = f"Done · {job.rows:,} rows, {job.added:,} added"
    else:
        label = "Failed"
    return {
        "id": job.id,
        "status": job.status,
        "fraction": fraction,
        "label": label,
        "done": finished,
        "filename": job.filename,
        "confirmed": job.confirmed,
        "rows": job.rows,
        "added": job.added,
        "already": job.already,
        "kept_unsubscribed": job.kept_unsubscribed,
        "suppressed": job.suppressed,
        "skipped": job.skipped,
        "rejected": [list(row) for row in jobs.rejected_rows(job)],
        "error": job.error,
    }
