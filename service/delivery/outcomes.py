"""What an SMTP reply makes of a ledger row: sent, failed for good, or pending again after a backoff."""

from __future__ import annotations

from datetime import datetime, timedelta

from service.bounces.policy import Action, FailureKind, Verdict, classify_reply
from service.core.config import Settings
from service.delivery.ledger import Outcome
from service.delivery.smtp_session import Reply
from service.models import DeliveryStatus

MAX_RETRY_DELAY = timedelta(hours=1)


def judged(
    delivered: Reply | Outcome, *, attempts: int, settings: Settings, expires: datetime, now: datetime
) -> tuple[Verdict | None, Outcome]:
    """The one policy's verdict on an SMTP reply (service.bounces.policy) and the row's next state.

    An outcome decided without a reply (a message that could not be built, a lost connection) passes as it is.
    """
    if not isinstance(delivered, Reply):
        return None, delivered
    verdict = classify_reply(delivered.code, delivered.text)
    text = f"{delivered.code} {delivered.text}"
    if verdict.action == Action.deliver:
        return verdict, Outcome(DeliveryStatus.sent, delivered.code, text, sent_at=now)
    if verdict.action == Action.retry:
        return verdict, retry_later(
            attempts=attempts, settings=settings, expires=expires, now=now, code=delivered.code, text=text
        )
    return verdict, Outcome(DeliveryStatus.failed, delivered.code, text, failure_kind=verdict.failure_kind, error=text)


def retry_later(
    *,
    attempts: int,
    settings: Settings,
    expires: datetime,
    now: datetime,
    code: int | None = None,
    text: str | None = None,
) -> Outcome:
    """Back off exponentially; past the edition's expiry a temporary failure becomes final."""
    delay = min(MAX_RETRY_DELAY, timedelta(seconds=settings.send_retry_base_seconds * 2 ** max(0, attempts - 1)))
    if now + delay > expires:
        return Outcome(DeliveryStatus.failed, code, text, failure_kind=FailureKind.expired, error=f"gave up: {text}")
    return Outcome(DeliveryStatus.pending, code, text, retry_at=now + delay, error=text)
