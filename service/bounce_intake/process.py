"""Take in one bounce or complaint: parse, prove whom it is about (VERP token or signed Message-ID), store, apply.

Every input (IMAP, the CLI's MTA pipe, the HTTP API) calls `ingest`. A report is applied only to a reader it
proves (service.bounces.authenticate); anything else, and a message that cannot be parsed, is stored with its
raw text and held for review, never applied and never dropped.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.bounces import store
from service.bounces.authenticate import Held, prove, reader_for
from service.bounces.parse import Parsed, Report, parse
from service.bounces.policy import Action, BounceKind, Verdict, over_threshold
from service.bounces.score import bounce_score
from service.core.addresses import address_hash
from service.core.config import Settings
from service.delivery import refusals
from service.mail.suppressions import suppress
from service.models import utcnow
from service.readers.subscriptions.consent import ConsentContext
from service.readers.subscriptions.preferences import unsubscribe

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


def ingest(
    session: Session, raw: bytes, *, settings: Settings, source: str, envelope_to: str | None = None
) -> list[Taken]:
    """Store and act on one raw report; the caller commits. The same bytes twice are taken once."""
    digest = hashlib.sha256(raw).hexdigest()
    if store.seen(session, digest):
        return [Taken("duplicate", None, None, "none", "nothing", duplicate=True)]
    try:
        parsed = parse(raw)
    except Exception:
        log.exception("bounce report could not be parsed; kept for review")
        parsed = Parsed(text=raw.decode("latin-1"))
    proof = prove(session, settings, parsed, envelope_to)
    kept = raw.decode("utf-8", "replace")[:MAX_RAW]
    if not parsed.reports:
        about = proof.readers[0] if len(proof.readers) == 1 else store.Match()
        _store(
            session,
            BounceKind.unparsed.value,
            None,
            None,
            about,
            source=source,
            digest=digest,
            review=Held.unparsed,
            raw=kept,
        )
        return [Taken(BounceKind.unparsed.value, None, None, about.matched_by, "kept for review")]
    taken = []
    for report in parsed.reports:
        match = reader_for(proof, report.recipient, only_recipient=len(parsed.reports) == 1)
        if match is None:
            taken.append(_hold(session, report, proof.otherwise, source=source, digest=digest, raw=kept))
        else:
            taken.append(_take(session, settings, report, match, source=source, digest=digest))
    return taken


def _store(
    session: Session,
    kind: str,
    status: str | None,
    diagnostic: str | None,
    match: store.Match,
    *,
    source: str,
    digest: str,
    review: Held | None = None,
    raw: str | None = None,
    recipient: str | None = None,
) -> None:
    """One bounce row."""
    email = match.email or recipient
    store.add(
        session,
        received_at=utcnow(),
        kind=kind,
        status=status,
        diagnostic=(diagnostic or "")[:1000] or None,
        recipient_hash=address_hash(email) if email else None,
        recipient_domain=email.rsplit("@", 1)[-1].lower()[:255] if email and "@" in email else None,
        delivery_id=match.delivery_id,
        subscriber_id=match.subscriber_id,
        edition_id=match.edition_id,
        matched_by=match.matched_by,
        source=source,
        message_sha256=digest,
        raw=raw,
        review=review.value if review else None,
    )


def _hold(session: Session, report: Report, why: Held, *, source: str, digest: str, raw: str) -> Taken:
    """Store a recipient's report that proves nothing about any reader: kept for review, never applied."""
    verdict = report.verdict
    _store(
        session,
        verdict.bounce.value,
        verdict.status,
        report.diagnostic,
        store.Match(),
        source=source,
        digest=digest,
        review=why,
        raw=raw,
        recipient=report.recipient,
    )
    log.warning("bounce report held for review (%s): %s %s", why.value, verdict.bounce.value, verdict.status or "")
    return Taken(verdict.bounce.value, report.recipient, verdict.status, "none", f"held for review: {why.value}")


def _take(
    session: Session, settings: Settings, report: Report, match: store.Match, *, source: str, digest: str
) -> Taken:
    """Store one proven recipient's bounce, then do what the policy says about the reader's address."""
    verdict = report.verdict
    _store(
        session,
        verdict.bounce.value,
        verdict.status,
        report.diagnostic,
        match,
        source=source,
        digest=digest,
        recipient=report.recipient,
    )
    refusals.bounce_recorded(session, settings, verdict.bounce.value, match.edition_id, match.delivery_id)
    done = apply(session, settings, verdict, email=match.email or report.recipient, subscriber_id=match.subscriber_id)
    return Taken(verdict.bounce.value, match.email or report.recipient, verdict.status, match.matched_by, done)


def apply(
    session: Session, settings: Settings, verdict: Verdict, *, email: str | None, subscriber_id: int | None
) -> str:
    """Act on an address by the policy's verdict; returns what was done, in words."""
    if email is None:
        return "nothing (no recipient)"
    if verdict.action == Action.suppress:
        suppress(session, email, verdict.reason)
        return f"suppressed: {verdict.reason}"
    if verdict.action == Action.unsubscribe:
        if subscriber_id is not None:
            unsubscribe(session, subscriber_id=subscriber_id, list_id=None, consent=ConsentContext(source="complaint"))
        suppress(session, email, verdict.reason)
        return f"unsubscribed and suppressed: {verdict.reason}"
    if verdict.action == Action.score:
        score = bounce_score(session, settings, email)
        if over_threshold(score, settings.bounce_score_threshold):
            suppress(session, email, f"{verdict.reason} (score {score})")
            return f"suppressed: {verdict.reason} (score {score})"
        return f"bounce score {score}"
    if verdict.action == Action.fail:
        log.error(
            "policy refusal (%s) reported for a reader: check the sending setup (SPF, DKIM, DMARC, reputation)",
            verdict.status,
        )
    return "nothing"
