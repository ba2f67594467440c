"""A reader's own data (download, delete), opened by a link we email on request that works for an hour.

The preferences link travels in every email, forwarded ones too, so it only asks for the data link: that one goes
to the reader's address alone and is dead an hour later.
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from service.core.config import Settings
from service.core.errors import ExpiredToken, InvalidToken
from service.core.tokens import Purpose, read_token
from service.mail.links import DATA_LINK_SECONDS
from service.models import Subscriber
from service.readers.subscribers.data_export import export_subscriber_data
from service.readers.subscribers.erasure import erase_subscriber
from service.web.common import client_ip
from service.web.deps import LimiterDep, NotifierDep, SessionDep, SettingsDep
from service.web.language import tr, use_readers_language
from service.web.page_render import render_page
from service.web.security import CSRF_FIELD, check_csrf

router = APIRouter(include_in_schema=False)
READER = "reader (data link)"  # the audit log's actor when readers act on their own data


def _reader(request: Request, settings: Settings, session: Session, purpose: Purpose, token: str) -> Subscriber:
    """The reader a valid link names; a data link is dead after DATA_LINK_SECONDS."""
    secret = settings.secret_key
    try:
        payload = read_token(secret, purpose, token, max_age=DATA_LINK_SECONDS if purpose == Purpose.data else None)
    except ExpiredToken:
        raise ExpiredToken(
            tr(
                request,
                "This link has expired: it works for an hour. Ask for a new one on your "
                "preferences page (the link at the bottom of every email).",
            )
        ) from None
    subscriber = session.get(Subscriber, payload["s"])
    if subscriber is None:
        raise InvalidToken(tr(request, "This link belongs to an address we no longer hold."))
    use_readers_language(request, subscriber)
    return subscriber


@router.post("/preferences/{token}/data-link")
def ask_for_data_link(
    request: Request,
    token: str,
    session: SessionDep,
    limiter: LimiterDep,
    notifier: NotifierDep,
    settings: SettingsDep,
    csrf_token_value: str = Form("", alias=CSRF_FIELD),
):
    """Email the reader a fresh data link (limited per mailbox); the page says where it went."""
    check_csrf(request, settings, csrf_token_value)
    subscriber = _reader(request, settings, session, Purpose.preferences, token)
    limiter.check_data_link(subscriber.email)
    notifier.data_link(subscriber.id)
    return render_page(
        request,
        "message.html",
        cookie=False,
        title=tr(request, "Check your inbox"),
        message=tr(
            request,
            "We have sent a link to %(address)s. It works for an hour: open it to download or delete your data.",
            address=subscriber.email,
        ),
        link=f"/preferences/{token}",
        link_text=tr(request, "Back to your preferences"),
    )


@router.get("/my-data/{token}")
def data_page(request: Request, token: str, session: SessionDep, settings: SettingsDep):
    """Download, and delete with its explanation and one button (a GET deletes nothing)."""
    subscriber = _reader(request, settings, session, Purpose.data, token)
    return render_page(request, "my_data.html", subscriber=subscriber, token=token)


@router.get("/my-data/{token}/download")
def download(request: Request, token: str, session: SessionDep, settings: SettingsDep):
    """Everything we hold about the reader, as a JSON download (never cached)."""
    subscriber = _reader(request, settings, session, Purpose.data, token)
    data = export_subscriber_data(
        session,
        subscriber.id,
        actor=READER,
        ip=client_ip(request),
        retention_days=settings.delivery_retention_days,
    )
    return JSONResponse(
        data,
        headers={"Content-Disposition": 'attachment; filename="my-newsletter-data.json"', "Cache-Control": "no-store"},
    )


@router.post("/my-data/{token}/erase")
def erase(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token_value: str = Form("", alias=CSRF_FIELD),
):
    """Delete the reader's data; only a hash of the address stays, so we never mail it again."""
    check_csrf(request, settings, csrf_token_value)
    subscriber = _reader(request, settings, session, Purpose.data, token)
    title = tr(request, "Your data is deleted")  # in the reader's language, read before their lists go
    message = tr(
        request,
        "We have deleted your address, your subscriptions and their history. We keep only a "
        "one-way hash of the address, so that it is never mailed again.",
    )
    erase_subscriber(session, subscriber.id, actor=READER, ip=client_ip(request))
    return render_page(request, "message.html", cookie=False, title=title, message=message)
