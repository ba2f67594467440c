"""An address's soft-bounce score, read from the stored bounces: the intake suppresses by it, admins see it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from service.bounces import store
from service.bounces.policy import soft_score
from service.core.addresses import address_hash
from service.core.config import Settings
from service.models import utcnow


def bounce_score(session: Session, settings: Settings, email: str) -> int:
    """The address's soft-bounce score under these settings."""
    return bounce_score_of(session, email, decay_days=settings.bounce_score_decay_days)


def bounce_score_of(session: Session, email: str, *, decay_days: int, reach: int = 60) -> int:
    """The address's soft-bounce score now (one point per day with a soft bounce, reset by a quiet spell)."""
    now = utcnow()
    days = store.soft_days(session, address_hash(email), since=now - timedelta(days=max(reach, decay_days * 8)))
    return soft_score(days, today=now.date(), decay_days=decay_days)
