"""Thin Celery tasks for editions, feeds, bounces and upkeep: load by id, call a service function, decide whether to
retry (emails to one reader: service.readers.tasks)."""

from __future__ import annotations

import logging

from celery.signals import worker_ready

from service.core.celery_app import app
from service.core.config import get_settings
from service.core.db import DATABASE_UNREACHABLE, engine_for, session_scope
from service.models import utcnow
from service.readers.tasks import CeleryNotifier

log = logging.getLogger(__name__)
PRUNE_TASK_SECONDS = 1800  # stop well inside Redis' one-hour visibility timeout; what is left goes next night
DRAIN_RETRIES, DRAIN_RETRY_MAX_SECONDS = 20, 30  # ~8 minutes without a database, then beat's sweeper


def start_drains(edition_id: int, count: int) -> None:
    """Ask `count` workers to drain an edition; extra asks are harmless (the ledger decides who sends what)."""
    for _ in range(max(1, count)):
        drain_edition.delay(edition_id)


@app.task(bind=True, max_retries=DRAIN_RETRIES)
def drain_edition(self, edition_id: int) -> None:
    """Send an edition's due rows; hand over to a fresh task when time is up with work left.

    A drain that loses the database (a restart, a partition) tries again by itself, sooner than beat's
    sweeper would start another: its claimed rows come back to whichever drain runs once their lease ends.
    """
    from service.delivery.sender import drain

    try:
        result = drain(get_settings(), edition_id)
    except DATABASE_UNREACHABLE as error:
        countdown = min(DRAIN_RETRY_MAX_SECONDS, 2**self.request.retries)
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        log.warning(
            "edition %s: database unreachable (%s); this drain tries again in %d s", edition_id, reason, countdown
        )
        raise self.retry(countdown=countdown, exc=error) from None
    log.info("edition %s drained: %s", edition_id, dict(result.counts))
    if result.more:
        drain_edition.delay(edition_id)


@app.task
def dispatch_due() -> None:
    """Beat, every minute: build and start each edition whose send time has come, then set workers on it."""
    from service.delivery.schedule import dispatch
    from service.ops.monitoring import heartbeats

    settings = get_settings()
    now = utcnow()
    heartbeats.beat(engine_for(settings.effective_database_url), now, name=heartbeats.BEAT)  # `newsletter status`
    for started in dispatch(settings, now):
        log.info(
            "edition %s (%s, %s) started for %d readers",
            started.edition_id,
            started.list_slug,
            started.day,
            started.planned,
        )
        start_drains(started.edition_id, settings.send_parallelism)


@app.task
def sweep_deliveries() -> None:
    """Beat, every 30 s: recover rows of dead workers, complete finished editions, restart stalled ones."""
    from service.delivery.control import sweep
    from service.ops.monitoring import heartbeats

    settings = get_settings()
    now = utcnow()
    heartbeats.beat(engine_for(settings.effective_database_url), now, name=heartbeats.SWEEPER)
    report = sweep(engine_for(settings.effective_database_url), now=now)
    if report.taken_back or report.cancelled or report.expired or report.completed or report.counted:
        log.info(
            "sweep: %d leases taken back, %d rows of cancelled editions cancelled, %d expired, completed %s, "
            "reply classes counted for %s",
            report.taken_back,
            report.cancelled,
            report.expired,
            report.completed,
            report.counted,
        )
    for edition_id in report.to_drain:
        start_drains(edition_id, settings.send_parallelism)


@app.task
def check_health() -> None:
    """Beat, every sweep interval: ask SMTP and the workers, keep the answers for scrapes, dashboard and status."""
    from service.ops.monitoring.checks import run_checks

    settings = get_settings()
    smtp, workers = run_checks(settings, engine_for(settings.effective_database_url), utcnow())
    if not smtp.ok or workers.error:
        log.warning("health check: smtp %s, workers %s", smtp.error or "up", workers.error or len(workers.online))


@app.task
def prune_ledger() -> None:
    """Beat, daily at DELIVERY_PRUNE_AT: finished editions past DELIVERY_RETENTION_DAYS keep only their roll-up."""
    from service.delivery.retention import prune

    settings = get_settings()
    report = prune(
        engine_for(settings.effective_database_url),
        now=utcnow(),
        retention_days=settings.delivery_retention_days,
        batch_size=settings.delivery_prune_batch_size,
        max_seconds=PRUNE_TASK_SECONDS,
    )
    log.info(
        "ledger prune: %d editions rolled up, %d delivery rows deleted in %.1f s%s",
        len(report.editions),
        report.rows,
        report.seconds,
        "" if report.finished else " (time is up: the next run goes on)",
    )


@worker_ready.connect
def _recover_on_start(**_) -> None:
    """A worker that starts picks up editions left open by stopped workers, without waiting for beat."""
    from service.delivery.control import to_resume

    settings = get_settings()
    for edition_id in to_resume(engine_for(settings.effective_database_url), now=utcnow()):
        start_drains(edition_id, settings.send_parallelism)


@app.task
def poll_bounces() -> None:
    """Beat, every BOUNCE_POLL_INTERVAL_SECONDS when BOUNCE_IMAP_URL is set: take in the bounce mailbox."""
    from service.bounce_intake.imap import poll_mailbox

    settings = get_settings()
    if settings.bounce_imap_url:
        log.info("bounce mailbox: %d messages taken in", poll_mailbox(settings))


@app.task
def poll_feeds() -> None:
    """Beat, every FEED_POLL_INTERVAL_SECONDS: take in every feed's new items, then reassemble the coming drafts."""
    from service.editions.drafts import refresh_drafts  # one broken feed stops neither the others nor the drafts
    from service.models.stories import shown_url
    from service.stories.feeds.intake import poll_all
    from service.stories.items import clusterer_from

    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        for result in poll_all(session, clusterer=clusterer_from(settings), allow_private=settings.feed_allow_private):
            log.info(
                "feed %s: %s (%d new, %d updated)%s",
                shown_url(result.url),
                result.status,
                result.created,
                result.updated,
                f": {result.error}" if result.error else "",
            )
        refreshed = refresh_drafts(session, settings, utcnow())
        log.info("drafts refreshed: %d", len(refreshed))


# --- subscriber management: background CSV imports (service.readers.subscribers); reader emails: readers.tasks ---


@app.task
def import_subscribers(job_id: int) -> None:
    """Run a queued CSV import job (progress and the report of rejected rows are kept on its row)."""
    from service.readers.subscribers.jobs import run_import_job

    job = run_import_job(get_settings(), job_id, notifier=CeleryNotifier())
    log.info("import job %s %s: %d rows, %d added", job.id, job.status, job.rows, job.added)
