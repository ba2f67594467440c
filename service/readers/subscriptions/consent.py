"""Proof of consent: who asked, from where, under which text, and the history every change appends to."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.models import ConsentEvent, Subscription


@dataclass(frozen=True)
class ConsentContext:
    """Who asked, from where, under which consent text: kept as proof of consent."""

    source: str = "form"
    ip: str | None = None
    user_agent: str | None = None
    consent_text_version: str = ""


def record_consent(session: Session, subscription: Subscription, action: str, consent: ConsentContext) -> None:
    """Append to the consent history."""
    session.add(
        ConsentEvent(
            subscription_id=subscription.id,
            action=action,
            ip=consent.ip,
            user_agent=(consent.user_agent or "")[:512] or None,
            source=consent.source,
            consent_text_version=consent.consent_text_version,
        )
    )
