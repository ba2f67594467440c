"""Thin Celery tasks: load by id, call a service function, decide whether to retry."""
from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from functools import lru_cache

from celery.signals import worker_ready
from sqlalchemy.exc import OperationalError as DatabaseBusy  # SQLite's "database is locked", a dropped connection

from service import smtp
from service.celery_app import app
from service.config import get_settings
from service.db import DATABASE_UNREACHABLE, engine_for, session_scope
from service.models import utcnow
from service.subscribers.owed import confirmation_owed, data_link_owed, welcomes_owed

log = logging.getLogger(__name__)
PRUNE_TASK_SECONDS = 1800  # stop well inside Redis' one-hour visibility timeout; what is left goes next night
DRAIN_RETRIES, DRAIN_RETRY_MAX_SECONDS = 20, 30  # ~8 minutes without a database, then beat's sweeper
RETRYABLE = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, TimeoutError, OSError)


def _deliver(message, *, subscriber_id: int | None = None, kind: str = "other") -> None:
    """Send now, from a VERP envelope naming the reader; a refusal is decided by the one policy.

    A hard bounce (5.x.x but 5.7.x) suppresses the address; a temporary one is raised for a retry.
    """
    from service.bounces.transactional import envelope_from, handle_refusal

    settings = get_settings()
    try:
        smtp.send_one(settings.smtp, message, envelope_from=envelope_from(settings, subscriber_id, kind))
    except smtp.NeedsSmtpUtf8 as error:
        log.error("not sent, permanently: %s (the server must offer SMTPUTF8 for this address)", error)
        return
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as error:
        handle_refusal(settings, error, recipient=message["To"].address, what=f"{kind} email")


@app.task(autoretry_for=RETRYABLE, retry_backoff=True, retry_backoff_max=600, max_retries=10)
def send_confirmation(subscriber_id: int, list_ids: list[int]) -> None:
    """Email the double opt-in link for the lists still awaiting confirmation."""
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        message = confirmation_owed(session, settings, subscriber_id, list_ids)
    if message is not None:
        _deliver(message, subscriber_id=subscriber_id, kind="confirmation")


@app.task(autoretry_for=RETRYABLE, retry_backoff=True, retry_backoff_max=600, max_retries=10)
def send_data_link(subscriber_id: int) -> None:
    """Email the reader the link to their data (download, delete) they asked for on their preferences page."""
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        message = data_link_owed(session, settings, subscriber_id)
    if message is not None:
        _deliver(message, subscriber_id=subscriber_id, kind="data")


@app.task(autoretry_for=RETRYABLE, retry_backoff=True, retry_backoff_max=600, max_retries=10)
def send_welcome(subscriber_id: int, list_ids: list[int]) -> None:
    """Email a welcome for each list the reader has just confirmed."""
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        messages = welcomes_owed(session, settings, subscriber_id, list_ids)
    for message in messages:
        _deliver(message, subscriber_id=subscriber_id, kind="welcome")


@lru_cache(maxsize=1)
def _subscribe_limiter(storage_url: str, per_ip: str, per_address: str, namespace: str):
    """One limiter per worker process (its counters live in Redis when there is one)."""
    from service.ratelimit import SubscribeLimiter

    return SubscribeLimiter(storage_url, per_ip, per_address, namespace=namespace)


@app.task(autoretry_for=(*RETRYABLE, DatabaseBusy), retry_backoff=True, retry_backoff_max=600, max_retries=10)
def carry_out_subscribe_request(message: dict) -> None:
    """A checked subscribe request from the web: store it and send what it calls for, within the mailbox's limit."""
    from service.subscribe_requests import SubscribeRequest, carry_out

    settings = get_settings()
    limiter = _subscribe_limiter(settings.effective_rate_limit_storage_url, settings.subscribe_limit_per_ip,
                                 settings.subscribe_limit_per_address, settings.task_queue)
    with session_scope(settings.effective_database_url) as session:
        result = carry_out(session, SubscribeRequest.from_message(message), notifier=CeleryNotifier(),
                           take_mail_slot=limiter.take_mail_slot)
    if result.subscriber_id and not (result.needs_confirmation or result.confirmed_now or result.already):
        log.info("subscribe request for subscriber %s sent nothing (suppressed or over its limit)",
                 result.subscriber_id)


class CeleryNotifier:
    """The Notifier of the subscription rules: hands each email to a worker through the broker."""

    def subscribe_request(self, request) -> None:
        """Queue a checked subscribe request; the broker being down is a clear 503, not a 500."""
        _enqueue(carry_out_subscribe_request, request.as_message())

    def confirmation(self, subscriber_id: int, list_ids: Sequence[int]) -> None:
        """Queue the confirmation email."""
        _enqueue(send_confirmation, subscriber_id, list(list_ids))

    def welcome(self, subscriber_id: int, list_ids: Sequence[int]) -> None:
        """Queue one welcome per list, so a retry never repeats a welcome already sent."""
        for list_id in list_ids:
            _enqueue(send_welcome, subscriber_id, [list_id])

    def data_link(self, subscriber_id: int) -> None:
        """Queue the email with the reader's data link."""
        _enqueue(send_data_link, subscriber_id)

    def confirmations(self, subscriber_ids: Sequence[int], list_id: int) -> None:
        """Queue one task for a chunk of imported readers: one broker message and one SMTP connection per chunk."""
        _enqueue(send_confirmations, list(subscriber_ids), list_id)


def _enqueue(task, *args) -> None:
    """Hand a task to the broker, turning "broker unreachable" into a domain error the web maps to 503."""
    from kombu.exceptions import OperationalError

    from service.errors import ServiceUnavailable

    try:
        task.apply_async(args=args, retry=True, retry_policy={"max_retries": 2, "interval_start": 0.2,
                                                               "interval_step": 0.5, "interval_max": 1})
    except OperationalError as error:
        log.error("broker unreachable: %s", error)
        raise ServiceUnavailable("We cannot take requests right now. Please try again in a few minutes.") from None


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
        countdown = min(DRAIN_RETRY_MAX_SECONDS, 2 ** self.request.retries)
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        log.warning("edition %s: database unreachable (%s); this drain tries again in %d s", edition_id, reason,
                    countdown)
        raise self.retry(countdown=countdown, exc=error) from None
    log.info("edition %s drained: %s", edition_id, dict(result.counts))
    if result.more:
        drain_edition.delay(edition_id)


@app.task
def dispatch_due() -> None:
    """Beat, every minute: build and start each edition whose send time has come, then set workers on it."""
    from service.delivery.schedule import dispatch
    from service.monitoring import heartbeats

    settings = get_settings()
    now = utcnow()
    heartbeats.beat(engine_for(settings.effective_database_url), now, name=heartbeats.BEAT)  # `newsletter status`
    for started in dispatch(settings, now):
        log.info("edition %s (%s, %s) started for %d readers", started.edition_id, started.list_slug, started.day,
                 started.planned)
        start_drains(started.edition_id, settings.send_parallelism)


@app.task
def sweep_deliveries() -> None:
    """Beat, every 30 s: recover rows of dead workers, complete finished editions, restart stalled ones."""
    from service.delivery.control import sweep
    from service.monitoring import heartbeats

    settings = get_settings()
    now = utcnow()
    heartbeats.beat(engine_for(settings.effective_database_url), now, name=heartbeats.SWEEPER)
    report = sweep(engine_for(settings.effective_database_url), now=now)
    if report.taken_back or report.expired or report.completed or report.counted:
        log.info("sweep: %d leases taken back, %d expired, completed %s, reply classes counted for %s",
                 report.taken_back, report.expired, report.completed, report.counted)
    for edition_id in report.to_drain:
        start_drains(edition_id, settings.send_parallelism)


@app.task
def check_health() -> None:
    """Beat, every sweep interval: ask SMTP and the workers, keep the answers for scrapes, dashboard and status."""
    from service.monitoring.checks import run_checks

    settings = get_settings()
    smtp, workers = run_checks(settings, engine_for(settings.effective_database_url), utcnow())
    if not smtp.ok or workers.error:
        log.warning("health check: smtp %s, workers %s", smtp.error or "up", workers.error or len(workers.online))


@app.task
def prune_ledger() -> None:
    """Beat, daily at DELIVERY_PRUNE_AT: finished editions past DELIVERY_RETENTION_DAYS keep only their roll-up."""
    from service.delivery.retention import prune

    settings = get_settings()
    report = prune(engine_for(settings.effective_database_url), now=utcnow(),
                   retention_days=settings.delivery_retention_days, batch_size=settings.delivery_prune_batch_size,
                   max_seconds=PRUNE_TASK_SECONDS)
    log.info("ledger prune: %d editions rolled up, %d delivery rows deleted in %.1f s%s", len(report.editions),
             report.rows, report.seconds, "" if report.finished else " (time is up: the next run goes on)")


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
    from service.bounces.imap import poll_mailbox

    settings = get_settings()
    if settings.bounce_imap_url:
        log.info("bounce mailbox: %d messages taken in", poll_mailbox(settings))


@app.task
def poll_feeds() -> None:
    """Beat, every FEED_POLL_INTERVAL_SECONDS: take in every feed's new items, then reassemble the coming drafts."""
    from service.editions.drafts import refresh_drafts  # one broken feed stops neither the others nor the drafts
    from service.feed_fetch import shown_url
    from service.feeds import poll_all
    from service.stories.items import clusterer_from

    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        for result in poll_all(session, clusterer=clusterer_from(settings),
                               allow_private=settings.feed_allow_private):
            log.info("feed %s: %s (%d new, %d updated)%s", shown_url(result.url), result.status, result.created,
                     result.updated,
                     f": {result.error}" if result.error else "")
        refreshed = refresh_drafts(session, settings, utcnow())
        log.info("drafts refreshed: %d", len(refreshed))


# --- subscriber management: batched confirmation emails and background CSV imports (service.subscribers) ---


@app.task(bind=True, max_retries=10)
def send_confirmations(self, subscriber_ids: list[int], list_id: int) -> None:
    """Email the double opt-in link to a chunk of imported readers; a temporary failure retries only the rest."""
    from service.subscribers.confirmations import BatchInterrupted
    from service.subscribers.confirmations import send_confirmations as send_batch

    try:
        send_batch(get_settings(), subscriber_ids, list_id)
    except BatchInterrupted as interrupted:
        countdown = min(600, 2 ** self.request.retries * 5)
        raise self.retry(args=[interrupted.remaining, list_id], countdown=countdown, exc=interrupted) from None


@app.task
def import_subscribers(job_id: int) -> None:
    """Run a queued CSV import job (progress and the report of rejected rows are kept on its row)."""
    from service.subscribers.jobs import run_import_job

    job = run_import_job(get_settings(), job_id, notifier=CeleryNotifier())
    log.info("import job %s %s: %d rows, %d added", job.id, job.status, job.rows, job.added)
