"""The language of a reader page: the list's when the page is about one list, else the browser's among the lists'."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import SQLAlchemyError

from service.core.db import session_factory
from service.i18n import templating
from service.i18n.locales import DEFAULT, LANGUAGES, negotiate
from service.lists.rules import site_languages
from service.models import MailingList, Subscriber, SubscriptionStatus
from service.web.deps import app_settings

log = logging.getLogger(__name__)


def use_language(request: Request, language: str) -> None:
    """Show this page in this language (a page about one list speaks the list's)."""
    request.state.language = language


def use_list_language(request: Request, lists: list[MailingList]) -> None:
    """The one list's language, or the browser's favourite among these lists' languages."""
    languages = [ml.locale for ml in lists]
    if languages:
        use_language(request, negotiate(request.headers.get("accept-language"), languages))


def readers_lists(subscriber: Subscriber) -> list[MailingList]:
    """The lists a reader gets (or, having left them all, once got): the reader's own pages speak their language."""
    confirmed = [s.mailing_list for s in subscriber.subscriptions if s.status == SubscriptionStatus.confirmed]
    return confirmed or [s.mailing_list for s in subscriber.subscriptions]


def use_readers_language(request: Request, subscriber: Subscriber) -> None:
    """Show a reader's own page (preferences, their data) in their lists' language."""
    use_list_language(request, readers_lists(subscriber))


def page_language(request: Request) -> str:
    """The language chosen for this page, else the browser's favourite among the languages the lists speak."""
    chosen = getattr(request.state, "language", None)
    if chosen:
        return str(chosen)
    settings = app_settings(request)
    try:
        with session_factory(settings.effective_database_url)() as session:
            available = site_languages(session)
    except SQLAlchemyError:  # the error page for a database outage still needs a language
        log.warning("list languages unavailable (database error); negotiating among all")
        available = list(LANGUAGES)
    language = negotiate(request.headers.get("accept-language"), available or [DEFAULT])
    request.state.language = language
    return language


def tr(request: Request, message: str, **variables: Any) -> str:
    """A message from a route (titles, notices) in the page's language."""
    return templating.translate(page_language(request), message, **variables)


class PageTemplates:
    """Jinja2Templates per language behind the one TemplateResponse every page calls."""

    def __init__(self, directory: Path, context_processors: list) -> None:
        self._by_language = {
            language: Jinja2Templates(
                env=templating.localise(
                    Environment(loader=FileSystemLoader(str(directory)), autoescape=select_autoescape()), language
                ),
                context_processors=context_processors,
            )
            for language in LANGUAGES
        }

    def TemplateResponse(self, request: Request, name: str, context: dict | None = None, **kwargs: Any):
        """Starlette's TemplateResponse, rendered in the page's language."""
        return self._by_language[page_language(request)].TemplateResponse(request, name, context, **kwargs)

    def get_template(self, name: str):
        """A template outside any page language (the Atom feed)."""
        return self._by_language[DEFAULT].get_template(name)
