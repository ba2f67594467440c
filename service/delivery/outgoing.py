"""One reader's message on its way out: its envelope, its draft and signature, and its transmission.

Each step turns what goes wrong for this reader into that reader's failed outcome, so one bad address or
message never stops a batch; only SmtpUnavailable and ConnectionLost (the connection's problems) escape.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from itertools import pairwise

from service.addresses import needs_smtputf8, wire_address
from service.bounces.policy import FailureKind
from service.delivery.ledger import Outcome
from service.delivery.message import Draft, EditionMail, Recipient
from service.delivery.smtp_session import (
    AddressNotSupported,
    ConnectionLost,
    Reply,
    SmtpSession,
    SmtpUnavailable,
    Withheld,
)
from service.errors import InvalidAddress
from service.mail_headers import UnsafeHeader
from service.models import DeliveryStatus

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
    sent = [(position, (senders[position], envelope)) for position, envelope in envelopes.items()
            if isinstance(envelope, str)]
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


def transmit(smtp: SmtpSession, mail: EditionMail, recipient: Recipient, payload: bytes | None,
              envelope: tuple[str, str], then: tuple[str, str] | None,
              meanwhile: Callable[[], None], release: Callable[[], bool]) -> Reply | Outcome:
    """Send one built message; only SmtpUnavailable (the batch waits), ConnectionLost (retried) and Withheld
    (`release` said no: stop) escape, with whatever `release` raised."""
    if payload is None:  # not built ahead (cannot happen for a sendable row, but never send nothing)
        built = finish(mail, draft(mail, recipient))
        if not isinstance(built, bytes):
            return built or refused(FailureKind.bad_message, "no message was built")
        payload = built
    sender, address = envelope
    utf8 = needs_smtputf8(address) or needs_smtputf8(sender)
    try:
        return smtp.send(sender, address, payload, then=then, smtputf8=utf8, meanwhile=meanwhile, release=release)
    except (SmtpUnavailable, ConnectionLost, Withheld):
        raise
    except AddressNotSupported as error:
        log.warning("edition %s: reader %s: %s", mail.edition.id, recipient.subscriber_id, error)
        return refused(FailureKind.unsupported_address, str(error))
    except Exception as error:  # connection state unknown: drop it, fail this row
        smtp.close(polite=False)
        log.exception("edition %s: sending to reader %s failed", mail.edition.id, recipient.subscriber_id)
        return refused(FailureKind.send_error, f"sending failed: {error!r}")
