"""Transactional refusals (confirmation, welcome) go through the same policy as bulk ones: a 5.1.1 suppresses."""

from __future__ import annotations

import logging
import smtplib

from service.bounces.policy import Action, classify_reply
from service.bounces.verp import Verp
from service.core.config import Settings
from service.core.db import session_scope
from service.mail.suppressions import suppress

log = logging.getLogger(__name__)


def envelope_from(settings: Settings, subscriber_id: int | None, kind: str) -> str | None:
    """The VERP envelope sender naming the reader and the kind of email (None: the From address)."""
    verp = Verp(settings)
    return verp.for_subscriber(subscriber_id, kind) if verp.enabled and subscriber_id else None


def refusal(error: smtplib.SMTPException) -> tuple[int, str] | None:
    """The (code, text) of an SMTP refusal about the recipient or the message; None for anything else."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, answer = next(iter(error.recipients.values()))
        return code, answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    if isinstance(error, smtplib.SMTPResponseException) and not isinstance(error, smtplib.SMTPSenderRefused):
        reply = error.smtp_error
        return error.smtp_code, reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return None


def handle_refusal(settings: Settings, error: smtplib.SMTPException, *, recipient: str, what: str) -> None:
    """Act on a transactional refusal by the policy; a temporary one raises ConnectionError for a retry."""
    found = refusal(error)
    if found is None:  # the server refused our sender (MAIL FROM): a setup problem, never the reader's
        code = getattr(error, "smtp_code", 0)
        if code and code < 500:
            raise ConnectionError(f"temporary failure {code}") from error
        log.error("%s not sent: the server refused our sender: %s", what, error)
        return
    code, text = found
    verdict = classify_reply(code, text)
    if verdict.action == Action.retry:
        raise ConnectionError(f"temporary refusal {code}") from error
    if verdict.action == Action.suppress:
        with session_scope(settings.effective_database_url) as session:
            suppress(session, recipient, verdict.reason)
        log.warning("%s refused permanently (%s %s): address suppressed (%s)", what, code, text, verdict.reason)
        return
    log.warning("%s refused permanently: %s %s (%s)", what, code, text, verdict.bounce.value)
