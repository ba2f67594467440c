"""Confirmation emails for many imported readers of one list, sent over one SMTP connection per batch."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence

from sqlalchemy import select

from service.bounces.transactional import envelope_from, handle_refusal
from service.core.addresses import address_hash
from service.core.config import Settings
from service.core.db import session_scope
from service.mail import emails, smtp
from service.mail.suppressions import suppressed_among
from service.models import MailingList, Subscriber, Subscription, SubscriptionStatus

log = logging.getLogger(__name__)
TRANSIENT = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, ConnectionError, TimeoutError, OSError)


class BatchInterrupted(Exception):
    """A temporary failure stopped the batch: `remaining` are the readers not mailed yet, to try again later."""

    def __init__(self, remaining: list[int], cause: BaseException):
        super().__init__(f"{len(remaining)} confirmation emails left after: {cause}")
        self.remaining = remaining


def _awaiting(settings: Settings, subscriber_ids: Sequence[int], list_id: int) -> list:
    """Messages for the readers who still await confirmation on the list and are not suppressed (may have moved on)."""
    with session_scope(settings.effective_database_url) as session:
        mailing_list = session.get(MailingList, list_id)
        if mailing_list is None:
            return []
        readers = list(
            session.scalars(
                select(Subscriber)
                .join(Subscription, Subscription.subscriber_id == Subscriber.id)
                .where(
                    Subscriber.id.in_(subscriber_ids),
                    Subscription.list_id == list_id,
                    Subscription.status == SubscriptionStatus.unconfirmed,
                )
                .order_by(Subscriber.id)
            )
        )
        suppressed = suppressed_among(session, [reader.email for reader in readers])
        return [
            (reader.id, emails.confirmation_message(settings, reader, [mailing_list]))
            for reader in readers
            if address_hash(reader.email) not in suppressed
        ]


def send_confirmations(settings: Settings, subscriber_ids: Sequence[int], list_id: int) -> int:
    """Send each reader's double opt-in email on one connection; returns how many went out.

    A permanent refusal (5xx, no SMTPUTF8 for this address) is logged and skipped; a temporary one raises
    BatchInterrupted naming the readers still to mail, so a retry never mails anyone twice.
    """
    messages = _awaiting(settings, subscriber_ids, list_id)
    sent = 0
    index = 0
    try:
        with smtp.connection_to(settings.smtp) as connection:
            connection.ehlo_or_helo_if_needed()
            for index, (subscriber_id, message) in enumerate(messages):  # noqa: B007 - index read on failure
                if _send_on(settings, connection, subscriber_id, message):
                    sent += 1
            index = len(messages)
    except TRANSIENT as error:
        raise BatchInterrupted([sid for sid, _ in messages[index:]], error) from error
    return sent


def _send_on(settings: Settings, connection: smtplib.SMTP, subscriber_id: int, message) -> bool:
    """One message on an open connection; False when it was refused for good (the batch goes on)."""
    data, utf8 = smtp.wire_bytes(message)
    recipient = message["To"].address
    sender = envelope_from(settings, subscriber_id, "confirmation") or message["From"].address
    if utf8 and not connection.has_extn("smtputf8"):
        log.error("confirmation to subscriber %s not sent, permanently: the server must offer SMTPUTF8", subscriber_id)
        return False
    try:
        connection.sendmail(sender, [recipient], data, mail_options=["SMTPUTF8"] if utf8 else [])
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as error:
        handle_refusal(settings, error, recipient=recipient, what=f"confirmation to subscriber {subscriber_id}")
        return False
    return True
