"""Admin screen: CSV imports — upload (stored, imported by a worker), live progress, the report of rejected rows."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from service.admin import audit
from service.admin.models import ImportJob, ImportStatus
from service.core.config import Settings
from service.core.errors import InvalidInput, ServiceUnavailable, UnknownList
from service.lists import rules as list_rules
from service.models import MailingList
from service.readers.subscribers import jobs
from service.web.admin.render import done, page
from service.web.common import client_ip
from service.web.deps import CurrentAdmin, SessionDep, SettingsDep

router = APIRouter(prefix="/admin")
log = logging.getLogger(__name__)
LARGEST_ID = 2**31 - 1
NEEDS_REASON = "A pre-confirmed import needs a reason: say how these readers agreed to get this list."
CHOOSE_AGAIN = (
    "Nothing was uploaded: choose {name} again once the rest is right (a browser cannot keep a chosen "
    "file after the page reloads)."
)
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


def _open_lists(session: Session) -> list[MailingList]:
    """The lists an import may fill (archived lists take no new readers)."""
    return [ml for ml, _ in list_rules.lists_with_readers(session) if ml.archived_at is None]


def _form(
    request: Request,
    session: Session,
    settings: Settings,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
):
    """The upload form, with the choices made and a message under the field that was wrong."""
    return page(
        request,
        "imports/new.html",
        status_code,
        title="Import subscribers",
        lists=_open_lists(session),
        values=values,
        errors=errors or {},
        needs_reason=NEEDS_REASON,
        max_mb=settings.import_max_bytes // (1024 * 1024),
    )


@router.get("/imports")
def imports_page(request: Request, admin: CurrentAdmin, session: SessionDep):
    """The latest imports, newest first."""
    rows = jobs.recent_import_jobs(session)
    slugs = {ml.id: ml.slug for ml, _ in list_rules.lists_with_readers(session)}
    return page(
        request,
        "imports/index.html",
        title="Imports",
        rows=[(job, slugs.get(job.list_id, "?"), progress_of(job)) for job in rows],
    )


@router.get("/imports/new")
def new_import_form(request: Request, admin: CurrentAdmin, session: SessionDep, settings: SettingsDep, list: str = ""):
    """Choose a list and a file; say whether the readers already agreed."""
    return _form(request, session, settings, values={"list": list, "confirmed": False, "reason": ""})


@router.post("/subscribers/import")
def upload(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    list: str = Form(""),
    file: UploadFile | None = File(None),
    confirmed: str | None = Form(None),
    reason: str = Form(""),
):
    """Store the upload and queue it; 303 to its progress page. A mistake shows the form again, nothing stored."""
    values = {"list": list, "confirmed": confirmed is not None, "reason": reason}
    errors: dict[str, str] = {}
    if file is None or not (file.filename or "").strip():
        errors["file"] = "Choose a CSV file to import."
    try:
        list_rules.open_list(session, list)
    except (InvalidInput, UnknownList) as error:
        errors["list"] = error.message if list else "Choose the list to add these readers to."
    if confirmed is not None and not reason.strip():
        errors["reason"] = NEEDS_REASON
    if errors and "file" not in errors and file is not None:
        errors["file"] = CHOOSE_AGAIN.format(name=file.filename)
    if errors or file is None:
        return _form(request, session, settings, values=values, errors=errors, status_code=422)
    try:
        job = start_import(
            request,
            session,
            settings,
            admin,
            list_slug=list,
            upload=file,
            confirmed=confirmed is not None,
            reason=reason,
        )
    except InvalidInput as error:
        session.rollback()
        return _form(request, session, settings, values=values, errors={"file": error.message}, status_code=422)
    return done(f"/admin/imports/{job.id}", f"Import of {job.filename} started.")


@router.get("/imports/{job_id}")
def import_page(job_id: int, request: Request, admin: CurrentAdmin, session: SessionDep):
    """The job's live progress bar, then its report: counts and every rejected row with its reason."""
    if not 0 < job_id <= LARGEST_ID:
        raise InvalidInput("An import id is a positive number.")
    job = jobs.get_import_job(session, job_id)
    mailing_list = session.get(MailingList, job.list_id)
    return page(
        request,
        "imports/detail.html",
        title=f"Import {job.id}",
        job=job,
        state=progress_of(job),
        mailing_list=mailing_list,
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


@router.get("/imports/{job_id}/rejected.csv")
def rejected_csv(job_id: int, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Download the rejected rows with the reason for each, to fix them and import them again."""
    if not 0 < job_id <= LARGEST_ID:
        raise InvalidInput("An import id is a positive number.")
    return rejected_download(request, session, admin.name, job_id)
