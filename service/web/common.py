"""What pages and API share: the caller's address, consent context, and the subscribe hand-off."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.core.ratelimit import SubscribeLimiter
from service.readers.subscribe_requests import SubscribeRequest, check_request
from service.readers.subscriptions.consent import ConsentContext
from service.readers.subscriptions.joining import Notifier


def consent_from(request: Request, settings: Settings, source: str) -> ConsentContext:
    """Who is asking: IP, user agent, the form or API, and the consent text they saw."""
    return ConsentContext(
        source=source,
        ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        consent_text_version=settings.consent_text_version,
    )


def client_ip(request: Request) -> str | None:
    """The caller's address (X-Forwarded-For is honoured only from FORWARDED_ALLOW_IPS, by the server)."""
    return request.client.host if request.client else None


def subscribe(
    request: Request,
    session: Session,
    settings: Settings,
    limiter: SubscribeLimiter,
    notifier: Notifier,
    *,
    email: str,
    name: str | None,
    lists: Iterable[str],
    timezone: str | None,
    source: str,
) -> SubscribeRequest:
    """Check the request, count it against the caller's network, and hand it to a worker."""
    checked = check_request(
        session,
        email=email,
        name=name,
        list_slugs=lists,
        timezone=timezone,
        consent=consent_from(request, settings, source),
        check_deliverability=settings.check_deliverability,
    )
    limiter.check_ip(client_ip(request))
    notifier.subscribe_request(checked)
    return checked
