"""One reader's message on its way out: its envelope, its draft and signature, and its transmission.

Each step turns what goes wrong for this reader into that reader's failed outcome, so one bad address or
message never stops a batch; only SmtpUnavailable and ConnectionLost (the connection's problems) escape.
The batch (service/delivery/batch.py) decides the order of the steps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from itertools import pairwise
from typing import TypeVar

from service.bounces.policy import FailureKind
from service.core.addresses import needs_smtputf8, wire_address
from service.core.errors import InvalidAddress
from service.core.mail_headers import UnsafeHeader
from service.delivery.ledger import Outcome
from service.delivery.message import Draft, EditionMail, Recipient
from service.delivery.smtp_session import (
    AddressNotSupported,
    ConnectionLost,
    Reply,
    SmtpSession,
    SmtpUnavailable,
)
from service.models import DeliveryStatus

_T = TypeVar("_T")
log = logging.getLogger("service.delivery.sender")  # the sender's log lines, wherever the step is


def refused(kind: FailureKind, error: str) -> Outcome:
    """A final failure that belongs to this reader alone (the batch carries on)."""
    return Outcome(DeliveryStatus.failed, failure_kind=kind, error=error)


def envelope_of(email: str) -> str | Outcome:
    """The address on the wire (IDNA domain), or the reader's failure when it cannot be written at all."""
    try:
        return wire_address(email)
    except InvalidAddress as error:
        return refused(FailureKind.bad_address, error.message)


def ahead_plan(envelopes: dict[int, str | Outcome], senders: list[str]) -> dict[int, tuple[str, str]]:
    """position -> the next sent (sender, recipient), for pipelining; only plain ASCII envelopes go ahead."""
    sent = [
        (position, (senders[position], envelope))
        for position, envelope in envelopes.items()
        if isinstance(envelope, str)
    ]
    return {a: pair for (a, _), (_, pair) in pairwise(sent) if all(part.isascii() for part in pair)}


def draft(mail: EditionMail, recipient: Recipient) -> Draft | Outcome:
    """One reader's message up to its signature; anything going wrong with it fails this row only."""
    try:
        return mail.draft(recipient)
    except (UnsafeHeader, InvalidAddress) as error:
        log.warning("edition %s: reader %s cannot be addressed: %s", mail.edition.id, recipient.subscriber_id, error)
        return refused(FailureKind.bad_address, f"cannot address this reader: {error}")
    except Exception as error:  # one reader's message must never stop the batch
        log.exception("edition %s: cannot build the message for reader %s", mail.edition.id, recipient.subscriber_id)
        return refused(FailureKind.bad_message, f"cannot build this reader's message: {error!r}")


def finish(mail: EditionMail, draft: Draft | Outcome | None) -> bytes | Outcome | None:
    """Sign and join a draft; a failure here, too, fails this row only."""
    if not isinstance(draft, Draft):
        return draft
    try:
        return mail.finish(draft)
    except Exception as error:
        log.exception("edition %s: cannot sign a message", mail.edition.id)
        return refused(FailureKind.bad_message, f"cannot build this reader's message: {error!r}")


def write_content(
    smtp: SmtpSession,
    mail: EditionMail,
    recipient: Recipient,
    payload: bytes,
    envelope: tuple[str, str],
    then: tuple[str, str] | None,
) -> Reply | Outcome | None:
    """Envelope and content without the final dot: None when the server waits for the dot, else the refusal or
    this row's failure; only SmtpUnavailable (the batch waits) and ConnectionLost (retried) escape."""
    sender, address = envelope
    utf8 = needs_smtputf8(address) or needs_smtputf8(sender)
    return _guarded(
        mail, recipient, smtp, lambda: smtp.write_content(sender, address, payload, then=then, smtputf8=utf8)
    )


def final_dot(smtp: SmtpSession, mail: EditionMail, recipient: Recipient) -> Reply | Outcome:
    """The final dot and the server's reply (see write_content for what escapes)."""
    return _guarded(mail, recipient, smtp, smtp.final_dot)


def _guarded(mail: EditionMail, recipient: Recipient, smtp: SmtpSession, step: Callable[[], _T]) -> _T | Outcome:
    """Run one SMTP step; a failure of this reader's alone becomes its failed outcome."""
    try:
        return step()
    except (SmtpUnavailable, ConnectionLost):
        raise
    except AddressNotSupported as error:
        log.warning("edition %s: reader %s: %s", mail.edition.id, recipient.subscriber_id, error)
        return refused(FailureKind.unsupported_address, str(error))
    except Exception as error:  # connection state unknown: drop it, fail this row
        smtp.close(polite=False)
        log.exception("edition %s: sending to reader %s failed", mail.edition.id, recipient.subscriber_id)
        return refused(FailureKind.send_error, f"sending failed: {error!r}")
