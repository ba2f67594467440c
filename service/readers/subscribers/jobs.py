"""Background CSV imports: the upload is kept under DATA_DIR/imports and imported by a worker, with progress."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.admin import audit
from service.admin.models import ImportJob, ImportStatus
from service.core.config import Settings
from service.core.db import session_factory
from service.core.errors import InvalidInput, UnknownPage
from service.lists.rules import get_list
from service.models import MailingList, utcnow
from service.readers.subscribers.csv_rows import utf8_lines
from service.readers.subscribers.export import csv_line
from service.readers.subscribers.import_batch import ImportReport
from service.readers.subscribers.importer import BulkNotifier, import_csv

log = logging.getLogger(__name__)
CHUNK = 1024 * 1024  # bytes copied at a time: an upload is never held in memory whole


def imports_dir(settings: Settings) -> Path:
    """Where uploads wait for their worker."""
    path = (settings.data_dir / "imports").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def create_import_job(
    session: Session,
    settings: Settings,
    *,
    list_slug: str,
    filename: str,
    source: BinaryIO,
    confirmed: bool,
    reason: str,
    created_by: str,
    ip: str | None = None,
) -> ImportJob:
    """Store the upload and a queued job (committed, so a worker can pick it up); the caller queues the task.

    A pre-confirmed import needs a stated reason, audited; a file over IMPORT_MAX_BYTES is refused and not kept.
    """
    reason = (reason or "").strip()
    if confirmed and not reason:
        raise InvalidInput("A pre-confirmed import needs a reason: say how these readers agreed to get this list.")
    mailing_list = get_list(session, list_slug)
    path = imports_dir(settings) / f"{uuid.uuid4().hex}.csv"
    size = _store(source, path, settings.import_max_bytes)
    job = ImportJob(
        list_id=mailing_list.id,
        created_by=created_by,
        filename=(filename or "")[:300],
        path=str(path),
        confirmed=confirmed,
        reason=reason if confirmed else "",
        status=ImportStatus.queued,
        total_bytes=size,
        read_bytes=0,
        rejected=[],
    )
    session.add(job)
    session.flush()
    audit.record(
        session,
        actor=created_by,
        action="subscribers.import",
        object_type="import_job",
        object_id=job.id,
        details={
            "list": mailing_list.slug,
            "filename": job.filename,
            "confirmed": confirmed,
            "reason": job.reason,
            "bytes": size,
        },
        ip=ip,
    )
    try:
        session.commit()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return job


def _store(source: BinaryIO, path: Path, limit: int) -> int:
    """Copy the upload in chunks; past the limit, remove what was written and say what the limit is."""
    size = 0
    try:
        with path.open("wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise InvalidInput(
                        f"The file is larger than the {_megabytes(limit)} an import may be "
                        "(IMPORT_MAX_BYTES). Split it into smaller files and import each."
                    )
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return size


def _megabytes(size: int) -> str:
    """A byte count as people read it."""
    return f"{size / 1024 / 1024:.0f} MB" if size >= 1024 * 1024 else f"{size} bytes"


def get_import_job(session: Session, job_id: int) -> ImportJob:
    """A job by id, or UnknownPage."""
    job = session.get(ImportJob, job_id)
    if job is None:
        raise UnknownPage(f"There is no import job {job_id}.")
    return job


def recent_import_jobs(session: Session, limit: int = 50) -> list[ImportJob]:
    """The newest import jobs, newest first, for the admin's list of imports."""
    return list(session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)))


def import_progress(job: ImportJob) -> float:
    """How far the job has read its file, from 0.0 to 1.0 (a finished job is at 1.0, whatever its file held)."""
    if job.status in (ImportStatus.done, ImportStatus.failed):
        return 1.0
    if not job.total_bytes:
        return 0.0
    return min(1.0, job.read_bytes / job.total_bytes)


class _CountingReader:
    """Yields the file's lines and counts the bytes handed out, for the progress bar."""

    def __init__(self, handle: BinaryIO):
        self.handle, self.read = handle, 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self.handle:
            self.read += len(line)
            yield line


def run_import_job(
    settings: Settings, job_id: int, *, notifier: BulkNotifier, on_progress: Callable[[ImportJob], None] | None = None
) -> ImportJob:
    """Import a queued job's file: running, then done or failed, its counts on the row every batch; the file goes."""
    session = session_factory(settings.effective_database_url)()
    try:
        job = get_import_job(session, job_id)
        if job.status != ImportStatus.queued:
            return job  # a redelivered task: the job already ran or is running elsewhere
        job.status, job.started_at = ImportStatus.running, utcnow()
        session.commit()
        mailing_list = session.get(MailingList, job.list_id)
        assert mailing_list is not None  # the job row cascades away with its list
        try:
            with Path(job.path).open("rb") as handle:
                reader = _CountingReader(handle)

                def record(report: ImportReport) -> None:
                    _copy(job, report, reader.read)
                    if on_progress is not None:
                        on_progress(job)

                report = import_csv(
                    session,
                    utf8_lines(reader),
                    mailing_list=mailing_list,
                    confirmed=job.confirmed,
                    reason=job.reason,
                    notifier=notifier,
                    on_batch=record,
                )
            _copy(job, report, job.total_bytes)
            job.status = ImportStatus.done
        except InvalidInput as error:
            session.rollback()
            job.status, job.error = ImportStatus.failed, error.message
        except Exception as error:
            session.rollback()
            log.exception("import job %s failed", job_id)
            job.status, job.error = ImportStatus.failed, f"The import stopped on an internal error: {error}"
        job.finished_at = utcnow()
        session.commit()
        if on_progress is not None:
            on_progress(job)
        Path(job.path).unlink(missing_ok=True)
        return job
    finally:
        session.close()


def _copy(job: ImportJob, report: ImportReport, read_bytes: int) -> None:
    """Put the report's figures on the job row (committed with the batch they describe)."""
    job.read_bytes = read_bytes
    job.rows, job.added, job.already = report.rows, report.added, report.already
    job.kept_unsubscribed, job.suppressed, job.skipped = (
        report.kept_unsubscribed,
        report.suppressed,
        report.skipped_count,
    )
    job.rejected = [[line, reason, text] for line, reason, text in report.skipped]


def rejected_rows(job: ImportJob) -> list[tuple[int, str, str]]:
    """The job's rejected rows as (line, why, the row's text); jobs run before rows' text was kept have none."""
    return [(int(entry[0]), str(entry[1]), str(entry[2]) if len(entry) > 2 else "") for entry in job.rejected or []]


def rejected_csv(job: ImportJob) -> Iterator[str]:
    """The rejected rows as a CSV download (line, reason, row as the file had it), safe to open in a spreadsheet."""
    yield csv_line(("line", "reason", "row"))
    for line, why, text in rejected_rows(job):
        yield csv_line((line, why, text))
