"""Admin JSON API for CSV imports of readers: start one, follow its progress, download its rejected rows."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from service.core.errors import InvalidInput
from service.lists import rules as list_rules
from service.readers.subscribers import jobs
from service.web.admin.api.common import Id
from service.web.admin.downloads import rejected_download
from service.web.admin.import_actions import progress_of, start_import
from service.web.admin.inputs import clean_reason
from service.web.deps import CurrentAdmin, SessionDep, SettingsDep
from service.web.openapi import ADMIN_ERRORS, REASONS, ErrorBody

router = APIRouter()
QUEUE_DOWN: dict[int | str, dict[str, Any]] = {503: {"model": ErrorBody, "description": REASONS[503]}}


class ImportOut(BaseModel):
    """An import job's progress and, when done, its report."""

    id: int
    status: str
    fraction: float
    label: str
    done: bool
    filename: str
    confirmed: bool
    rows: int
    added: int
    already: int
    kept_unsubscribed: int
    suppressed: int
    skipped: int
    rejected: list[tuple[int, str, str]] = Field(
        description="The first 1,000 rejected rows: [line, reason, the row as the file had it (up to 300 characters)]"
    )
    error: str | None


@router.post("/imports", status_code=202, response_model=ImportOut, responses={**ADMIN_ERRORS, **QUEUE_DOWN})
def post_import(
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    settings: SettingsDep,
    file: UploadFile = File(description="UTF-8 CSV with a header row: email[, name, timezone]"),
    list: str = Form(max_length=64),
    confirmed: bool = Form(False),
    reason: str = Form("", max_length=2000),
):
    """Store the upload and queue its import; poll GET /api/admin/imports/{id}. Pre-confirmed needs a reason."""
    if not list_rules.SLUG.match(list):
        raise InvalidInput(f"There is no list called {list[:64]!r}.")
    job = start_import(
        request,
        session,
        settings,
        admin,
        list_slug=list,
        upload=file,
        confirmed=confirmed,
        reason=clean_reason(reason) if confirmed else "",
    )
    return JSONResponse(progress_of(job), status_code=202)


@router.get("/imports/{job_id}", response_model=ImportOut, responses=ADMIN_ERRORS)
def get_import(job_id: Id, admin: CurrentAdmin, session: SessionDep):
    """An import's progress ({"fraction", "label", "done"} for the progress bar), its counts and rejected rows."""
    return JSONResponse(progress_of(jobs.get_import_job(session, job_id)))


@router.get(
    "/imports/{job_id}/rejected.csv",
    response_class=Response,
    responses={
        **ADMIN_ERRORS,
        200: {
            "content": {"text/csv": {}},
            "description": "line,reason,row: one record per rejected row; "
            "a cell that a spreadsheet would run as a formula starts with an apostrophe",
        },
    },
)
def get_import_rejected(job_id: Id, request: Request, admin: CurrentAdmin, session: SessionDep):
    """An import's rejected rows as CSV, with the reason for each (audited, like an export)."""
    return rejected_download(request, session, admin.name, job_id)
