"""Reader pages behind an email's link: confirm, preferences, unsubscribe or pause (their data: web/my_data.py)."""

from __future__ import annotations

from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from service.branding.brand import list_brand
from service.core.config import Settings
from service.core.errors import InvalidInput, InvalidToken
from service.core.tokens import Purpose, read_token
from service.i18n.formats import joined, short_date
from service.i18n.locales import N_
from service.mail import links
from service.models import MailingList, Subscriber, SubscriptionStatus, as_utc, utcnow
from service.readers.front.landing import latest_editions, next_edition_at, spoken_moment
from service.readers.subscriptions.joining import confirm
from service.readers.subscriptions.lookups import all_lists, lists_by_slug
from service.readers.subscriptions.preferences import pause_emails, unsubscribe, update_preferences
from service.web.common import consent_from
from service.web.deps import NotifierDep, SessionDep, SettingsDep
from service.web.language import page_language, readers_lists, tr, use_list_language
from service.web.page_render import render_page, use_brand
from service.web.security import CSRF_FIELD, check_csrf, csrf_matches

router = APIRouter()
TIMEZONES = sorted(available_timezones())


_page = render_page


def _token(settings: Settings, purpose: Purpose, token: str) -> dict:
    """Verify a link token; confirmation links expire, the others live as long as the emails."""
    max_age = settings.confirm_token_max_age if purpose == Purpose.confirm else None
    return read_token(settings.secret_key, purpose, token, max_age=max_age)


def _subscriber(session: Session, payload: dict) -> Subscriber:
    """The subscriber a valid token names, who may since have been deleted."""
    subscriber = session.get(Subscriber, payload["s"])
    if subscriber is None:
        raise InvalidToken(N_("This link belongs to an address we no longer hold."))
    return subscriber


@router.get("/confirm/{token}")
def confirm_page(request: Request, token: str, session: SessionDep, settings: SettingsDep):
    """A page with a button; visiting the link alone confirms nothing (mail scanners follow links)."""
    payload = _token(settings, Purpose.confirm, token)
    subscriber = _subscriber(session, payload)
    use_list_language(request, _named_lists(session, payload))
    return _page(request, "confirm.html", subscriber=subscriber, token=token)


def _named_lists(session: Session, payload: dict) -> list[MailingList]:
    """The lists a link's token names (one for an unsubscribe link, those asked for in a confirmation)."""
    named = payload.get("l")
    ids = [i for i in (named if isinstance(named, list) else [named]) if isinstance(i, int)]
    return [ml for ml in (session.get(MailingList, i) for i in ids) if ml is not None]


@router.post("/confirm/{token}")
def confirm_submit(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    notifier: NotifierDep,
    csrf_token_value: str = Form("", alias=CSRF_FIELD),
):
    """Confirm the lists the link names, then welcome the reader."""
    check_csrf(request, settings, csrf_token_value)
    payload = _token(settings, Purpose.confirm, token)
    subscriber = _subscriber(session, payload)
    use_list_language(request, _named_lists(session, payload))
    list_ids = [i for i in payload.get("l", []) if isinstance(i, int)]
    newly, already = confirm(
        session,
        subscriber_id=subscriber.id,
        list_ids=list_ids,
        consent=consent_from(request, settings, "confirm-link"),
        notifier=notifier,
    )
    confirmed = newly + already
    if not confirmed:
        raise InvalidInput(tr(request, "There is nothing left to confirm for this link. Please subscribe again."))
    if len(confirmed) == 1:
        use_brand(request, list_brand(session, settings, confirmed[0]))
    now = utcnow()
    language = page_language(request)
    coming = [(ml, spoken_moment(next_edition_at(ml, subscriber.timezone, now), now, language)) for ml in confirmed]
    return _page(
        request,
        "confirmed.html",
        title=tr(request, "You are subscribed"),
        newly=newly,
        confirmed=confirmed,
        names=joined([ml.name for ml in confirmed], language),
        coming=coming,
        zone=subscriber.timezone,
        latest=latest_editions(session, confirmed),
        preferences_url=links.preferences_url(settings, subscriber.id),
    )


@router.get("/preferences/{token}")
def preferences_page(request: Request, token: str, session: SessionDep, settings: SettingsDep, saved: bool = False):
    """Name, time zone, lists, pause, or leave everything; no login, the link is the key."""
    subscriber = _subscriber(session, _token(settings, Purpose.preferences, token))
    use_list_language(request, readers_lists(subscriber))
    subscribed = {s.list_id for s in subscriber.subscriptions if s.status == SubscriptionStatus.confirmed}
    paused = _paused(subscriber)
    return _page(
        request,
        "preferences.html",
        subscriber=subscriber,
        lists=all_lists(session),
        subscribed=subscribed,
        timezones=TIMEZONES,
        token=token,
        saved=saved,
        paused=paused,
    )


@router.post("/preferences/{token}")
def preferences_submit(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    name: str = Form(""),
    timezone: str = Form(""),
    list: list[str] = Form(default_factory=list),
    pause: str = Form(""),
    action: str = Form("save"),
    csrf_token_value: str = Form("", alias=CSRF_FIELD),
):
    """Save the form, or unsubscribe from everything when that button was pressed."""
    check_csrf(request, settings, csrf_token_value)
    subscriber = _subscriber(session, _token(settings, Purpose.preferences, token))
    use_list_language(request, readers_lists(subscriber))
    consent = consent_from(request, settings, "preferences")
    if action == "unsubscribe_all":
        unsubscribe(session, subscriber_id=subscriber.id, list_id=None, consent=consent)
        return _page(
            request,
            "message.html",
            title=tr(request, "You are unsubscribed"),
            message=tr(request, "You will receive no more emails from us. You can subscribe again at any time."),
        )
    update_preferences(
        session,
        subscriber_id=subscriber.id,
        name=name,
        timezone=timezone,
        list_slugs=list,
        pause=pause,
        consent=consent,
    )
    return RedirectResponse(f"/preferences/{token}?saved=1", status_code=303)


@router.get("/unsubscribe/{token}")
def unsubscribe_page(request: Request, token: str, session: SessionDep, settings: SettingsDep):
    """A page with a button, "pause instead", and a choice of lists; a GET never unsubscribes."""
    payload = _token(settings, Purpose.unsubscribe, token)
    subscriber = _subscriber(session, payload)
    use_list_language(request, _named_lists(session, payload) or readers_lists(subscriber))
    names = [s.mailing_list.name for s in subscriber.subscriptions if payload.get("l") in (None, s.list_id)]
    current = [s.mailing_list for s in subscriber.subscriptions if s.status == SubscriptionStatus.confirmed]
    return _page(request, "unsubscribe.html", token=token, names=names, current=current, paused=_paused(subscriber))


def _paused(subscriber: Subscriber) -> bool:
    """True while the reader's pause lasts."""
    return subscriber.paused_until is not None and as_utc(subscriber.paused_until) > utcnow()


@router.post("/unsubscribe/{token}/pause")
def pause_instead(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    pause: str = Form("4w"),
    csrf_token_value: str = Form("", alias=CSRF_FIELD),
):
    """Stop the emails for a while and keep the subscriptions (the unsubscribe link may do less than unsubscribe)."""
    check_csrf(request, settings, csrf_token_value)
    payload = _token(settings, Purpose.unsubscribe, token)
    subscriber = _subscriber(session, payload)
    use_list_language(request, _named_lists(session, payload) or readers_lists(subscriber))
    until_moment = pause_emails(session, subscriber_id=subscriber.id, choice=pause)
    message = (
        tr(request, "You stay subscribed, and we send nothing until you resume them from any email’s preferences link.")
        if pause == "forever" or until_moment is None
        else tr(
            request,
            "You stay subscribed, and we send nothing until %(date)s.",
            date=short_date(until_moment, page_language(request)),
        )
    )
    return _page(request, "message.html", cookie=False, title=tr(request, "Your emails are paused"), message=message)


@router.post("/unsubscribe/{token}/lists")
def leave_lists(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    list: list[str] = Form(default_factory=list),
    csrf_token_value: str = Form("", alias=CSRF_FIELD),
):
    """Leave the ticked lists only, and keep the others."""
    check_csrf(request, settings, csrf_token_value)
    payload = _token(settings, Purpose.unsubscribe, token)
    subscriber = _subscriber(session, payload)
    use_list_language(request, _named_lists(session, payload) or readers_lists(subscriber))
    if not [slug for slug in list if slug]:
        raise InvalidInput(tr(request, "Tick at least one newsletter to leave."))
    consent = consent_from(request, settings, "unsubscribe-page")
    left = []
    for mailing_list in lists_by_slug(session, list):
        left += [
            ml.name
            for ml in unsubscribe(session, subscriber_id=subscriber.id, list_id=mailing_list.id, consent=consent)
        ]
    message = (
        tr(
            request,
            "You will receive no more %(names)s; the others stay as they were.",
            names=joined(left, page_language(request)),
        )
        if left
        else tr(request, "You will receive no more of these emails; the others stay as they were.")
    )
    return _page(
        request,
        "message.html",
        cookie=False,
        title=tr(request, "You are unsubscribed"),
        message=message,
        link="/",
        link_text=tr(request, "Back to the front page"),
    )


@router.post("/unsubscribe/{token}")
def unsubscribe_one_click(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    one_click: str = Form("", alias="List-Unsubscribe"),
    csrf_token_value: str = Form("", alias=CSRF_FIELD),
):
    """RFC 8058 one-click: List-Unsubscribe=One-Click in the body, 200, no redirect, no cookie; idempotent."""
    if one_click != "One-Click":
        raise InvalidInput("Expected the form field List-Unsubscribe=One-Click.")
    payload = _token(settings, Purpose.unsubscribe, token)
    subscriber = _subscriber(session, payload)
    use_list_language(request, _named_lists(session, payload) or readers_lists(subscriber))
    list_id = payload.get("l") if isinstance(payload.get("l"), int) else None
    # The page's button carries its CSRF token; a mail client's one-click POST has no cookie, and needs none.
    source = "unsubscribe-page" if csrf_matches(request, settings, csrf_token_value) else "one-click"
    unsubscribe(session, subscriber_id=subscriber.id, list_id=list_id, consent=consent_from(request, settings, source))
    return _page(
        request,
        "message.html",
        cookie=False,
        title=tr(request, "You are unsubscribed"),
        message=tr(
            request, "You will receive no more of these emails. Changed your mind? You can subscribe again at any time."
        ),
        link="/subscribe",
        link_text=tr(request, "Subscribe again"),
    )
