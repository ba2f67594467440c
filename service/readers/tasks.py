"""Celery tasks that email readers (confirmation, welcome, data link, subscribe requests), and the notifier that
queues them; their task names stay service.tasks.* so queued messages and logs keep working."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy.exc import OperationalError as DatabaseBusy  # SQLite's "database is locked", a dropped connection

from service.core.celery_app import app
from service.core.config import get_settings
from service.core.db import session_scope
from service.mail import smtp
from service.readers.subscribers.owed import confirmation_owed, data_link_owed, welcomes_owed

log = logging.getLogger(__name__)
RETRYABLE = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, TimeoutError, OSError)
# A reader's email waits out a broken connection (backing off up to 10 minutes) rather than being lost
RETRY_MAIL: dict = {"autoretry_for": RETRYABLE, "retry_backoff": True, "retry_backoff_max": 600, "max_retries": 10}
# A subscribe request also waits out a database busy with another writer: the reader was told to check their inbox
RETRY_REQUEST: dict = {**RETRY_MAIL, "autoretry_for": (*RETRYABLE, DatabaseBusy)}


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


@app.task(name="service.tasks.send_confirmation", **RETRY_MAIL)
def send_confirmation(subscriber_id: int, list_ids: list[int]) -> None:
    """Email the double opt-in link for the lists still awaiting confirmation."""
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        message = confirmation_owed(session, settings, subscriber_id, list_ids)
    if message is not None:
        _deliver(message, subscriber_id=subscriber_id, kind="confirmation")


@app.task(name="service.tasks.send_data_link", **RETRY_MAIL)
def send_data_link(subscriber_id: int) -> None:
    """Email the reader the link to their data (download, delete) they asked for on their preferences page."""
    settings = get_settings()
    with session_scope(settings.effective_database_url) as session:
        message = data_link_owed(session, settings, subscriber_id)
    if message is not None:
        _deliver(message, subscriber_id=subscriber_id, kind="data")


@app.task(name="service.tasks.send_welcome", **RETRY_MAIL)
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
    from service.core.ratelimit import SubscribeLimiter

    return SubscribeLimiter(storage_url, per_ip, per_address, namespace=namespace)


@app.task(name="service.tasks.carry_out_subscribe_request", **RETRY_REQUEST)
def carry_out_subscribe_request(message: dict) -> None:
    """A checked subscribe request from the web: store it and send what it calls for, within the mailbox's limit."""
    from service.readers.subscribe_requests import SubscribeRequest, carry_out

    settings = get_settings()
    limiter = _subscribe_limiter(
        settings.effective_rate_limit_storage_url,
        settings.subscribe_limit_per_ip,
        settings.subscribe_limit_per_address,
        settings.task_queue,
    )
    with session_scope(settings.effective_database_url) as session:
        result = carry_out(
            session,
            SubscribeRequest.from_message(message),
            notifier=CeleryNotifier(),
            take_mail_slot=limiter.take_mail_slot,
        )
    if result.subscriber_id and not (result.needs_confirmation or result.confirmed_now or result.already):
        log.info(
            "subscribe request for subscriber %s sent nothing (suppressed or over its limit)", result.subscriber_id
        )


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

    from service.core.errors import ServiceUnavailable

    try:
        task.apply_async(
            args=args,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1},
        )
    except OperationalError as error:
        log.error("broker unreachable: %s", error)
        raise ServiceUnavailable("We cannot take requests right now. Please try again in a few minutes.") from None


@app.task(name="service.tasks.send_confirmations", bind=True, max_retries=10)
def send_confirmations(self, subscriber_ids: list[int], list_id: int) -> None:
    """Email the double opt-in link to a chunk of imported readers; a temporary failure retries only the rest."""
    from service.readers.subscribers.confirmations import BatchInterrupted
    from service.readers.subscribers.confirmations import send_confirmations as send_batch

    try:
        send_batch(get_settings(), subscriber_ids, list_id)
    except BatchInterrupted as interrupted:
        countdown = min(600, 2**self.request.retries * 5)
        raise self.retry(args=[interrupted.remaining, list_id], countdown=countdown, exc=interrupted) from None
