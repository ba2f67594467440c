"""A worker's drain loop: claim a batch, send each message on a reused connection, record each reply at once."""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.engine import Connection

from service.bounces.policy import Action, FailureKind, Verdict, classify_reply
from service.bounces.verp import Verp
from service.config import Settings
from service.db import engine_for, session_scope
from service.delivery import control, ledger, outgoing, prepared
from service.delivery.ledger import Claimed, Outcome
from service.delivery.message import Draft, EditionMail, Recipient
from service.delivery.refusals import Watch
from service.delivery.smtp_session import (
    ConnectionLost,
    Reply,
    SmtpSession,
    SmtpUnavailable,
    Withheld,
)
from service.delivery.throttle import Throttle
from service.models import DeliveryStatus, Edition, EditionStatus, as_utc, utcnow
from service.monitoring.logs import delivery_id as delivery_context
from service.monitoring.logs import log_context
from service.suppressions import suppress

log = logging.getLogger(__name__)
MAX_RETRY_DELAY = timedelta(hours=1)


@dataclass
class DrainResult:
    """What one drain did; `more` says another drain should carry on (time ran out with work left)."""

    counts: Counter = field(default_factory=Counter)
    more: bool = False


def _judged(delivered: Reply | Outcome, *, attempts: int, settings: Settings, expires: datetime,
            now: datetime) -> tuple[Verdict | None, Outcome]:
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
        return verdict, retry_later(attempts=attempts, settings=settings, expires=expires, now=now,
                                    code=delivered.code, text=text)
    return verdict, Outcome(DeliveryStatus.failed, delivered.code, text, failure_kind=verdict.failure_kind,
                            error=text)


def retry_later(*, attempts: int, settings: Settings, expires: datetime, now: datetime, code: int | None = None,
                text: str | None = None) -> Outcome:
    """Back off exponentially; past the edition's expiry a temporary failure becomes final."""
    delay = min(MAX_RETRY_DELAY, timedelta(seconds=settings.send_retry_base_seconds * 2 ** max(0, attempts - 1)))
    if now + delay > expires:
        return Outcome(DeliveryStatus.failed, code, text, failure_kind=FailureKind.expired, error=f"gave up: {text}")
    return Outcome(DeliveryStatus.pending, code, text, retry_at=now + delay, error=text)


_MAILS: dict[tuple, tuple[EditionMail, int, datetime]] = {}


def edition_mail(settings: Settings, edition_id: int) -> tuple[EditionMail, int, datetime]:
    """The edition's bytes, built once per process (editions are frozen): (mail, list id, expiry).

    The cache is keyed by what can change under a known id: SQLite may reuse the id of a deleted edition, and
    a retry of failed readers moves the expiry.
    """
    with session_scope(settings.effective_database_url) as session:
        edition = session.get(Edition, edition_id)
        if edition is None:
            raise LookupError(f"edition {edition_id} does not exist (deleted after its drain was queued?)")
        key = (edition_id, edition.created_at, edition.send_expires_at)
        if key not in _MAILS:
            mail = EditionMail(settings, edition, edition.mailing_list)
            expires = as_utc(edition.send_expires_at) if edition.send_expires_at else (
                utcnow() + timedelta(hours=settings.send_expiry_hours))
            if len(_MAILS) >= 4:
                _MAILS.pop(next(iter(_MAILS)))
            _MAILS[key] = (mail, edition.list_id, expires)
    return _MAILS[key]


def drain(settings: Settings, edition_id: int, *, max_seconds: float | None = None) -> DrainResult:
    """Send the edition's due rows until none is left, the edition is paused, or time is up."""
    with log_context(edition=edition_id):  # every line logged while draining names the edition
        return _drain(settings, edition_id, max_seconds=max_seconds)


def _drain(settings: Settings, edition_id: int, *, max_seconds: float | None) -> DrainResult:
    """The drain loop itself (see drain)."""
    result = DrainResult()
    engine = engine_for(settings.effective_database_url)
    mail, list_id, expires = edition_mail(settings, edition_id)
    deadline = time.monotonic() + (max_seconds or settings.drain_max_seconds)
    smtp = SmtpSession(settings.smtp, settings.smtp_messages_per_connection)
    throttle = Throttle(settings.send_rate_per_second, settings.effective_redis_url)
    verp = Verp(settings)
    watch = Watch(settings, edition_id)  # receivers refusing our setup (5.7.x) pause the edition
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.dialect.name == "postgresql" and not settings.send_synchronous_commit:
            conn.exec_driver_sql("SET synchronous_commit = off")
        try:
            while control.status_of(conn, edition_id) == EditionStatus.sending:
                if time.monotonic() > deadline:
                    result.more = ledger.has_due(conn, edition_id, utcnow())
                    break
                with engine.begin() as claiming:  # the rows and their lease appear together
                    token, batch = ledger.claim(claiming, edition_id=edition_id, limit=settings.send_batch_size,
                                                now=utcnow(), lease_seconds=settings.send_lease_seconds)
                if not batch:
                    if control.take_back(engine, now=utcnow(), edition_id=edition_id):  # a stopped worker's rows
                        continue
                    if control.complete_if_done(conn, edition_id, utcnow()) or not _outlast_leases(
                            conn, edition_id, deadline):
                        break
                    continue
                if not _send_batch(conn, settings, mail, list_id, expires, token, batch, smtp, throttle, result,
                                   verp, watch):
                    break
                ledger.finish_batch(conn, token=token)
        finally:
            smtp.close()
    return result


def _outlast_leases(conn: Connection, edition_id: int, deadline: float) -> bool:
    """Wait while other workers hold rows of this edition: True once a lease ends (look again), False if none."""
    end = ledger.earliest_lease_end(conn, edition_id)
    if end is None:
        return False  # what is open is due later (retries, readers in later time zones): beat comes back for it
    while as_utc(end) > utcnow() and time.monotonic() < deadline:
        time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
        end = ledger.earliest_lease_end(conn, edition_id)
        if end is None:
            return True
    return time.monotonic() < deadline


def _send_batch(conn: Connection, settings: Settings, mail: EditionMail, list_id: int, expires: datetime, token: str,
                batch: list[Claimed], smtp: SmtpSession, throttle: Throttle, result: DrainResult, verp: Verp,
                watch: Watch) -> bool:
    """Send one claimed batch; False when the drain should stop (server unreachable, lease lost, paused).

    Each message's outcome is sent to the database without waiting. The next message is signed and its
    content sent while the database commits, but its final dot goes out only once that commit has been
    answered (`_Records.release`). So the one message that can be sent twice after a crash is still the one in
    flight on this connection.
    """
    readers = ledger.readers(conn, list_id=list_id, subscriber_ids=[row.subscriber_id for row in batch], now=utcnow())
    records = _Records(conn, token, _Lease(conn, token, settings.send_lease_seconds))
    found = [readers.get(row.subscriber_id, (None, "", "subscriber deleted")) for row in batch]
    envelopes = {position: outgoing.envelope_of(email) for position, (email, _, skip) in enumerate(found) if not skip}
    senders = [verp.for_delivery(row.delivery_id) if verp.enabled else mail.envelope_from for row in batch]
    # the next message's envelope rides with each message (not when rate-limited: it would sit in DATA)
    then = {} if throttle.rate > 0 else outgoing.ahead_plan(envelopes, senders)

    def draft(position: int) -> Draft | Outcome | None:
        """The cheap half of a position's message, or its failure; None when it is not to be sent at all."""
        if position >= len(batch) or not isinstance(envelopes.get(position), str):
            return None
        email, name, _ = found[position]
        return outgoing.draft(mail, Recipient(batch[position].subscriber_id, email, name))

    def draft_into(drafts: list, position: int) -> None:
        """The next draft, made while the SMTP server takes this message."""
        drafts.append(draft(position))

    def build(position: int) -> bytes | Outcome | None:
        """The whole message for a position (see draft)."""
        return outgoing.finish(mail, draft(position))

    # the next message's draft is made while the server takes this one, its signature while the database commits
    upcoming: list[Draft | Outcome | None] = []
    built = build(0)
    try:
        for position, row in enumerate(batch):
            payload, built = built, None
            email, name, skip = found[position]
            envelope = envelopes.get(position)  # None exactly when skipped
            nothing_to_send = not isinstance(envelope, str) or isinstance(payload, Outcome)
            if nothing_to_send and not records.release():  # (a message checks this just before its dot)
                return _lease_lost(mail, token)
            if not isinstance(envelope, str):
                outcome = envelope if isinstance(envelope, Outcome) else Outcome(DeliveryStatus.skipped, error=skip)
                records.write(row.delivery_id, outcome)
                result.counts[outcome.status] += 1
                built = build(position + 1)
                continue
            throttle.acquire(keepalive=records.release)  # the connection is free only once answered
            recipient = Recipient(row.subscriber_id, email, name)
            now = utcnow()
            delivery_token = delivery_context.set(row.delivery_id)  # this message's log lines name its ledger row
            upcoming.clear()
            try:
                delivered = payload if isinstance(payload, Outcome) else outgoing.transmit(
                    smtp, mail, recipient, payload, (senders[position], envelope), then.get(position),
                    meanwhile=partial(draft_into, upcoming, position + 1), release=records.release)
            except Withheld as withheld:  # the previous record failed or the lease is gone: this one never completed
                delivery_context.reset(delivery_token)
                if withheld.__cause__ is not None:
                    raise withheld.__cause__ from None
                return _lease_lost(mail, token)
            except SmtpUnavailable as error:
                delivery_context.reset(delivery_token)
                records.settled()
                rest = [r.delivery_id for r in batch[position:]]
                later = retry_later(attempts=row.attempts, settings=settings, expires=expires, now=now, text=str(error))
                ledger.release(conn, token=token, delivery_ids=rest, retry_at=later.retry_at or now, error=str(error))
                log.warning("edition %s: %s; %d rows wait for a retry", mail.edition.id, error, len(rest))
                result.counts["deferred"] += len(rest)
                ledger.finish_batch(conn, token=token)
                return False
            except ConnectionLost as error:  # the one message that may have gone out twice, at most, on retry
                delivered = retry_later(attempts=row.attempts, settings=settings, expires=expires, now=now,
                                        text=f"connection lost during send: {error}")
            if not records.settled():  # already read unless the message was refused or its connection lost
                return _lease_lost(mail, token)
            verdict, outcome = _judged(delivered, attempts=row.attempts, settings=settings, expires=expires, now=now)
            if outcome.status == DeliveryStatus.sent:
                outcome = Outcome(DeliveryStatus.sent, outcome.smtp_code, outcome.smtp_reply,
                                  message_id=mail.message_id(recipient), sent_at=now)
            records.write(row.delivery_id, outcome)
            built = outgoing.finish(mail, upcoming[0] if upcoming else draft(position + 1))  # while it commits
            if verdict is not None and verdict.action == Action.suppress and outcome.status == DeliveryStatus.failed:
                records.settled()
                suppress(conn, email, verdict.reason)
            elif outcome.failure_kind == FailureKind.policy:
                log.error("edition %s: policy refusal for reader %s, check the sending setup: %s", mail.edition.id,
                          row.subscriber_id, outcome.smtp_reply)
                if watch.refused(conn, upto=row.delivery_id, free=records.settled):
                    delivery_context.reset(delivery_token)
                    result.counts[outcome.status] += 1
                    return _paused(conn, token, batch[position + 1:], now, result)
            delivery_context.reset(delivery_token)
            result.counts[outcome.status if outcome.status != DeliveryStatus.pending else "retry"] += 1
        watch.batch_done(conn, upto=batch[-1].delivery_id, free=records.settled)
    finally:
        records.settled()  # never leave an answer unread on the connection
    return True


def _paused(conn: Connection, token: str, rest: list[Claimed], now: datetime, result: DrainResult) -> bool:
    """The edition was paused mid-batch: the rows not sent yet go back to pending, due at once, for the resume."""
    ledger.release(conn, token=token, delivery_ids=[row.delivery_id for row in rest], retry_at=now,
                   error="the edition was paused before this message was sent")
    ledger.finish_batch(conn, token=token)
    result.counts["released"] += len(rest)
    return False


class _Records:
    """A batch's ledger writes, sent without waiting: at most one is unanswered, and it is read before the next dot."""

    def __init__(self, conn: Connection, token: str, lease: _Lease):
        self.conn, self.token, self.lease = conn, token, lease
        self.answer: prepared.Answer = prepared.answered

    def write(self, delivery_id: int, outcome: Outcome) -> None:
        """Send one row's outcome; the database commits it while the next message is built and sent."""
        self.answer = ledger.start_record(self.conn, token=self.token, delivery_id=delivery_id, outcome=outcome)

    def settled(self) -> bool:
        """Read the last write's answer: False when it changed nothing (the lease was taken back)."""
        return bool(self.answer())

    def release(self) -> bool:
        """The previous message's record is committed and this worker still holds its rows: the next may complete."""
        return self.settled() and self.lease.keep()


def _lease_lost(mail: EditionMail, token: str) -> bool:
    """Stop this batch: another worker took its rows back (they were ours too long) or a record failed."""
    log.warning("edition %s: lease %s lost; leaving the rest of the batch to others", mail.edition.id, token)
    return False


class _Lease:
    """Renews a batch's lease well before it runs out, and notices when it was taken back."""

    def __init__(self, conn: Connection, token: str, seconds: int):
        self.conn, self.token, self.seconds = conn, token, seconds
        self.renewed = time.monotonic()

    def keep(self, force: bool = False) -> bool:
        """True while this worker still holds the rows it has not finished (the sweeper takes a lease whole)."""
        if not force and time.monotonic() - self.renewed < self.seconds / 3:
            return True
        held = ledger.renew(self.conn, token=self.token, until=utcnow() + timedelta(seconds=self.seconds))
        self.renewed = time.monotonic()
        return held
