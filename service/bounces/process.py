"""Take in one bounce or complaint: parse, match to a delivery (VERP first, then recipient), store, apply the policy.

Every input (IMAP, the CLI's MTA pipe, the HTTP API) calls `ingest`; a message that cannot be parsed is
stored with its raw text for review, never dropped.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from service.addresses import address_hash
from service.bounces import store
from service.bounces.parse import Parsed, Report, parse
from service.bounces.policy import Action, BounceKind, Verdict, over_threshold, soft_score
from service.bounces.verp import Verp
from service.config import Settings
from service.delivery import refusals
from service.models import utcnow
from service.subscriptions.consent import ConsentContext
from service.subscriptions.lookups import subscriber_by_email
from service.subscriptions.preferences import unsubscribe
from service.suppressions import suppress

log = logging.getLogger(__name__)
MAX_RAW = 1_000_000  # an unparsed message is kept up to this many characters


@dataclass(frozen=True)
class Taken:
    """What one report did, per recipient: the outcome lines `bounces ingest` prints."""

    kind: str
    recipient: str | None
    status: str | None
    matched_by: str
    action: str
    duplicate: bool = False


def ingest(session: Session, raw: bytes, *, settings: Settings, source: str,
           envelope_to: str | None = None) -> list[Taken]:
    """Store and act on one raw report; the caller commits. The same bytes twice are taken once."""
    digest = hashlib.sha256(raw).hexdigest()
    if store.seen(session, digest):
        return [Taken("duplicate", None, None, "none", "nothing", duplicate=True)]
    try:
        parsed = parse(raw)
    except Exception:
        log.exception("bounce report could not be parsed; kept for review")
        parsed = Parsed()
    now = utcnow()
    verp = Verp(settings)
    target = verp.find(envelope_to, *parsed.verp_texts)
    if not parsed.reports:
        match = _match(session, verp_target=target, message_id=parsed.message_id, recipient=None)
        store.add(session, received_at=now, kind=BounceKind.unparsed.value, status=None, diagnostic=None,
                  recipient_hash=address_hash(match.email) if match.email else None, delivery_id=match.delivery_id,
                  subscriber_id=match.subscriber_id, edition_id=match.edition_id, matched_by=match.matched_by,
                  source=source, message_sha256=digest, raw=raw.decode("utf-8", "replace")[:MAX_RAW])
        return [Taken(BounceKind.unparsed.value, None, None, match.matched_by, "kept for review")]
    taken = []
    single = len(parsed.reports) == 1  # a VERP token names one delivery: it belongs to a one-recipient report
    for report in parsed.reports:
        match = _match(session, verp_target=target if single else None, message_id=parsed.message_id,
                       recipient=report.recipient)
        taken.append(_take(session, settings, report, match, source=source, digest=digest))
    return taken


def _match(session: Session, *, verp_target, message_id: str | None, recipient: str | None) -> store.Match:
    """VERP token first, then the quoted Message-ID, then the recipient's address."""
    found = None
    if verp_target is not None and verp_target.delivery_id is not None:
        found = store.by_delivery(session, verp_target.delivery_id)
    elif verp_target is not None and verp_target.subscriber_id is not None:
        found = store.by_subscriber(session, verp_target.subscriber_id)
    if found is None and message_id:
        found = store.by_message_id(session, message_id)
    if found is None and recipient:
        try:
            subscriber = subscriber_by_email(session, recipient)
        except Exception:  # noqa: BLE001 - an address we could never have mailed matches nobody
            subscriber = None
        if subscriber is not None:
            found = store.by_subscriber_email(session, subscriber.id, subscriber.email)
    return found or store.Match(email=recipient)


def _take(session: Session, settings: Settings, report: Report, match: store.Match, *, source: str,
          digest: str) -> Taken:
    """Store one recipient's bounce, then do what the policy says about the address."""
    email = match.email or report.recipient
    recipient_hash = address_hash(email) if email else None
    verdict = report.verdict
    store.add(session, received_at=utcnow(), kind=verdict.bounce.value, status=(verdict.status or None),
              diagnostic=report.diagnostic[:1000] or None, recipient_hash=recipient_hash,
              delivery_id=match.delivery_id, subscriber_id=match.subscriber_id, edition_id=match.edition_id,
              matched_by=match.matched_by, source=source, message_sha256=digest, raw=None)
    refusals.bounce_recorded(session, settings, verdict.bounce.value, match.edition_id, match.delivery_id)
    done = apply(session, settings, verdict, email=email, subscriber_id=match.subscriber_id)
    return Taken(verdict.bounce.value, email, verdict.status, match.matched_by, done)


def apply(session: Session, settings: Settings, verdict: Verdict, *, email: str | None,
          subscriber_id: int | None) -> str:
    """Act on an address by the policy's verdict; returns what was done, in words."""
    if email is None:
        return "nothing (no recipient)"
    if verdict.action == Action.suppress:
        suppress(session, email, verdict.reason)
        return f"suppressed: {verdict.reason}"
    if verdict.action == Action.unsubscribe:
        if subscriber_id is not None:
            unsubscribe(session, subscriber_id=subscriber_id, list_id=None,
                        consent=ConsentContext(source="complaint"))
        suppress(session, email, verdict.reason)
        return f"unsubscribed and suppressed: {verdict.reason}"
    if verdict.action == Action.score:
        score = bounce_score(session, settings, email)
        if over_threshold(score, settings.bounce_score_threshold):
            suppress(session, email, f"{verdict.reason} (score {score})")
            return f"suppressed: {verdict.reason} (score {score})"
        return f"bounce score {score}"
    if verdict.action == Action.fail:
        log.error("policy refusal (%s) reported for a reader: check the sending setup (SPF, DKIM, DMARC, "
                  "reputation)", verdict.status)
    return "nothing"


def bounce_score(session: Session, settings: Settings, email: str) -> int:
    """The address's soft-bounce score under these settings."""
    return bounce_score_of(session, email, decay_days=settings.bounce_score_decay_days)


def bounce_score_of(session: Session, email: str, *, decay_days: int, reach: int = 60) -> int:
    """The address's soft-bounce score now (one point per day with a soft bounce, reset by a quiet spell)."""
    now = utcnow()
    days = store.soft_days(session, address_hash(email), since=now - timedelta(days=max(reach, decay_days * 8)))
    return soft_score(days, today=now.date(), decay_days=decay_days)
