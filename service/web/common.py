"""What pages and API share: the DB session dependency, consent context, and the subscribe hand-off."""
from __future__ import annotations

from typing import Iterable, Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from service.addresses import normalise_address
from service.db import session_factory
from service.errors import InvalidAddress
from service.subscriptions import ConsentContext, SubscribeResult, request_subscription


def get_session(request: Request) -> Iterator[Session]:
    """One session per request."""
    with session_factory(request.app.state.settings.effective_database_url)() as session:
        yield session


def consent_from(request: Request, source: str) -> ConsentContext:
    """Who is asking: IP, user agent, the form or API, and the consent text they saw."""
    return ConsentContext(
        source=source,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        consent_text_version=request.app.state.settings.consent_text_version,
    )


def subscribe(
    request: Request, session: Session, *, email: str, name: str | None, lists: Iterable[str],
    timezone: str | None, source: str,
) -> SubscribeResult:
    """Rate-limit, then hand the request to the subscription rules."""
    settings = request.app.state.settings
    try:
        address = normalise_address(email)
    except InvalidAddress:
        address = None  # the rules raise the clear error below
    request.app.state.limiter.check(request.client.host if request.client else None, address)
    return request_subscription(
        session, email=email, name=name, list_slugs=lists, timezone=timezone,
        consent=consent_from(request, source), notifier=request.app.state.notifier,
        check_deliverability=settings.check_deliverability,
    )
