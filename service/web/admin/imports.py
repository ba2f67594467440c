"""Admin screen: CSV imports — upload (stored, imported by a worker), live progress, the report of rejected rows."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.core.errors import InvalidInput, UnknownList
from service.lists import rules as list_rules
from service.models import MailingList
from service.readers.subscribers import jobs
from service.web.admin.downloads import rejected_download
from service.web.admin.import_actions import NEEDS_REASON, progress_of, start_import
from service.web.admin.inputs import LARGEST_ID
from service.web.admin.render import done, page
from service.web.deps import CurrentAdmin, SessionDep, SettingsDep

router = APIRouter(prefix="/admin")
log = logging.getLogger(__name__)
CHOOSE_AGAIN = (
    "Nothing was uploaded: choose {name} again once the rest is right (a browser cannot keep a chosen "
    "file after the page reloads)."
)


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


@router.get("/imports/{job_id}/rejected.csv")
def rejected_csv(job_id: int, request: Request, admin: CurrentAdmin, session: SessionDep):
    """Download the rejected rows with the reason for each, to fix them and import them again."""
    if not 0 < job_id <= LARGEST_ID:
        raise InvalidInput("An import id is a positive number.")
    return rejected_download(request, session, admin.name, job_id)
