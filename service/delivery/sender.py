"""A worker's drain loop: claim a batch, send it on a reused connection (service/delivery/batch.py), repeat."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection, Engine

from service.bounces.verp import Verp
from service.core.config import Settings
from service.core.db import engine_for, session_scope
from service.core.logs import log_context
from service.delivery import control, ledger, ledger_status
from service.delivery.batch import Batch, Drain
from service.delivery.ledger import Claimed
from service.delivery.message import EditionMail
from service.delivery.refusals import Watch
from service.delivery.smtp_session import SmtpSession
from service.delivery.steps import Observer, Step, unobserved
from service.delivery.throttle import Throttle
from service.models import Edition, EditionStatus, as_utc, utcnow


@dataclass
class DrainResult:
    """What one drain did; `more` says another drain should carry on (time ran out with work left)."""

    counts: Counter = field(default_factory=Counter)
    more: bool = False


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
            expires = (
                as_utc(edition.send_expires_at)
                if edition.send_expires_at
                else (utcnow() + timedelta(hours=settings.send_expiry_hours))
            )
            if len(_MAILS) >= 4:
                _MAILS.pop(next(iter(_MAILS)))
            _MAILS[key] = (mail, edition.list_id, expires)
    return _MAILS[key]


def drain(
    settings: Settings, edition_id: int, *, max_seconds: float | None = None, observe: Observer = unobserved
) -> DrainResult:
    """Send the edition's due rows until none is left, the edition is paused, or time is up.

    `observe` hears every step of every message (service/delivery/steps.py), in the order they happen.
    """
    with log_context(edition=edition_id):  # every line logged while draining names the edition
        return _drain(settings, edition_id, max_seconds=max_seconds, observe=observe)


def _drain(settings: Settings, edition_id: int, *, max_seconds: float | None, observe: Observer) -> DrainResult:
    """The drain loop itself (see drain): claim a batch, send it (service/delivery/batch.py), again."""
    result = DrainResult()
    engine = engine_for(settings.effective_database_url)
    mail, list_id, expires = edition_mail(settings, edition_id)
    deadline = time.monotonic() + (max_seconds or settings.drain_max_seconds)
    smtp = SmtpSession(settings.smtp, settings.smtp_messages_per_connection)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        shared = Drain(
            conn=conn,
            settings=settings,
            mail=mail,
            list_id=list_id,
            expires=expires,
            smtp=smtp,
            throttle=Throttle(settings.send_rate_per_second, settings.effective_redis_url),
            verp=Verp(settings),
            counts=result.counts,
            observe=observe,
            watch=Watch(settings, edition_id),
        )  # receivers refusing our setup (5.7.x) pause the edition
        if conn.dialect.name == "postgresql" and not settings.send_synchronous_commit:
            conn.exec_driver_sql("SET synchronous_commit = off")
        try:
            while control.status_of(conn, edition_id) == EditionStatus.sending:
                if time.monotonic() > deadline:
                    result.more = ledger_status.has_due(conn, edition_id, utcnow())
                    break
                token, batch = _claim(engine, settings, edition_id, observe)
                if not batch:
                    if control.take_back(engine, now=utcnow(), edition_id=edition_id):  # a stopped worker's rows
                        continue
                    if control.finish_if_done(engine, edition_id, now=utcnow()) or not _outlast_leases(
                        conn, edition_id, deadline
                    ):
                        break
                    continue
                if not Batch(shared, token, batch).send():
                    break
                ledger.finish_batch(conn, token=token)
        finally:
            smtp.close()
    return result


def _claim(engine: Engine, settings: Settings, edition_id: int, observe: Observer) -> tuple[str, list[Claimed]]:
    """Claim: due rows become this worker's under a lease, in one transaction (the rows and the lease together)."""
    with engine.begin() as claiming:
        token, batch = ledger.claim(
            claiming,
            edition_id=edition_id,
            limit=settings.send_batch_size,
            now=utcnow(),
            lease_seconds=settings.send_lease_seconds,
        )
    for row in batch:
        observe(Step.claimed, row.delivery_id)
    return token, batch


def _outlast_leases(conn: Connection, edition_id: int, deadline: float) -> bool:
    """Wait while other workers hold rows of this edition: True once a lease ends (look again), False if none."""
    end = ledger_status.earliest_lease_end(conn, edition_id)
    if end is None:
        return False  # what is open is due later (retries, readers in later time zones): beat comes back for it
    while as_utc(end) > utcnow() and time.monotonic() < deadline:
        time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
        end = ledger_status.earliest_lease_end(conn, edition_id)
        if end is None:
            return True
    return time.monotonic() < deadline
