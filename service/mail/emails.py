"""Transactional emails (confirmation, welcome): Jinja2 + MJML to HTML, a text part, and the MIME message."""

from __future__ import annotations

from collections.abc import Sequence
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from mjml import mjml2html

from service.branding.brand import brand_for_lists, brand_of, configured_brand
from service.branding.brand import sender as branded_sender
from service.core.config import Settings
from service.core.mail_headers import Mailbox, PreparedHeader, mailbox_from_config
from service.i18n.formats import joined
from service.i18n.locales import DEFAULT, LANGUAGES, negotiate
from service.i18n.templating import localise, translate
from service.mail import links
from service.mail.dkim import Signer, signer_for
from service.models import MailingList, Subscriber, utcnow


class UrlListHeader(UnstructuredHeader):
    """List-Unsubscribe: fold only between its <URL>s, never as RFC 2047 words (clients would not decode them)."""

    name: str  # the registry mixes this class with BaseHeader, which sets it

    def fold(self, *, policy):
        """The stdlib turns a long URL into =?utf-8?q?...?= words; keep each URL whole (lines stay under 998)."""
        targets = [target.strip() for target in str(self).split(",") if target.strip()]
        return f"{self.name}: " + ("," + policy.linesep + " ").join(targets) + policy.linesep


class MailPolicy(EmailPolicy):
    """The email package's default policy plus the DKIM signer that service.mail.smtp.wire_bytes signs with.

    A message carries its signer, so every path that puts it on the wire (a task, a batch of confirmations,
    an admin's test send) signs it, and signs the final bytes, after any last header change.
    """

    dkim: Signer | None = None


_HEADERS = HeaderRegistry()
# typeshed asks for a BaseHeader subclass; the registry takes the mixin and adds BaseHeader itself
_HEADERS.map_to_type("list-unsubscribe", UrlListHeader)  # type: ignore[arg-type]
MAIL_POLICY = MailPolicy(header_factory=_HEADERS)


@lru_cache(maxsize=4 * len(LANGUAGES))
def template_env(templates_dir: Path, language: str = DEFAULT) -> Environment:
    """Jinja2 with autoescape on for HTML and MJML (story text and names are data, never markup), in one language."""
    return localise(
        Environment(
            loader=FileSystemLoader(str(templates_dir)),
            autoescape=select_autoescape(["html", "mjml", "xml"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        ),
        language,
    )


def render_html_and_text(
    settings: Settings, name: str, context: dict[str, Any], language: str = DEFAULT
) -> tuple[str, str]:
    """Render email/NAME.mjml through MJML and email/NAME.txt as the plain-text twin (`brand` in its header)."""
    env = template_env(settings.templates_dir, language)
    full_context = {
        "postal_address": settings.postal_address,
        "base_url": settings.base_url,
        "brand": configured_brand(settings),
        **context,
    }
    html = mjml2html(env.get_template(f"email/{name}.mjml").render(full_context))
    text = env.get_template(f"email/{name}.txt").render(full_context)
    return html, text


def build_message(
    settings: Settings,
    *,
    to: Mailbox,
    subject: str,
    html: str,
    text: str,
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
    sender: Mailbox | None = None,
) -> EmailMessage:
    """multipart/alternative (text first, HTML last), quoted-printable so no line passes 998 characters."""
    message = EmailMessage(policy=MAIL_POLICY.clone(dkim=signer_for(settings)))  # type: ignore[call-arg]
    message["Subject"] = subject
    message["From"] = PreparedHeader("From", sender or mailbox_from_config(settings.mail_from))
    message["To"] = PreparedHeader("To", to)
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = message_id or make_msgid(domain=settings.mail_domain)
    for key, value in (headers or {}).items():
        message[key] = value
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def recipient(subscriber: Subscriber) -> Mailbox:
    """The To mailbox, with the reader's name when we have one (written by mail_headers, never reparsed)."""
    return Mailbox(subscriber.name or "", subscriber.email)


def list_headers(settings: Settings, subscriber: Subscriber, mailing_list: MailingList) -> dict[str, str]:
    """List-Id and RFC 8058 one-click unsubscribe headers for mail sent on behalf of a list."""
    url = links.unsubscribe_url(settings, subscriber.id, mailing_list.id)
    targets = [f"<{url}>"]
    if settings.mail_unsubscribe_mailto:
        targets.append(f"<mailto:{settings.mail_unsubscribe_mailto}?subject=unsubscribe>")
    return {
        "List-Id": f"{mailing_list.name} <{mailing_list.slug}.{settings.mail_domain}>",
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def feedback_id(settings: Settings, campaign: str, list_slug: str, kind: str) -> str:
    """Google's Feedback-ID (campaign:list:kind:sender-id), so its postmaster figures split spam rates per mailing."""
    return ":".join((campaign, list_slug, kind, settings.feedback_sender_id))


def confirmation_message(settings: Settings, subscriber: Subscriber, lists: Sequence[MailingList]) -> EmailMessage:
    """The double opt-in email: one link to a page whose button confirms."""
    language = negotiate(None, [ml.locale for ml in lists])
    names = joined([ml.name for ml in lists], language)
    brand = brand_for_lists(settings, list(lists))
    context = {
        "brand": brand,
        "subscriber": subscriber,
        "lists": lists,
        "confirm_url": links.confirm_url(settings, subscriber.id, [ml.id for ml in lists]),
        "valid_days": max(1, settings.confirm_token_max_age // 86400),
    }
    subject = translate(language, "Please confirm your subscription to %(names)s", names=names)
    feedback = feedback_id(settings, "confirm", "+".join(ml.slug for ml in lists), "transactional")
    return _automatic(settings, subscriber, "confirm", context, language, subject, feedback)


def data_link_message(settings: Settings, subscriber: Subscriber) -> EmailMessage:
    """The reader asked for their data: a link, good for an hour, to download or delete it."""
    brand = brand_for_lists(settings, [s.mailing_list for s in subscriber.subscriptions])
    context = {
        "brand": brand,
        "subscriber": subscriber,
        "data_url": links.data_url(settings, subscriber.id),
        "valid_minutes": links.DATA_LINK_SECONDS // 60,
    }
    language = negotiate(None, [s.mailing_list.locale for s in subscriber.subscriptions])
    subject = translate(language, "Your data at %(site)s: download or delete", site=brand.name)
    feedback = feedback_id(settings, "data", "reader", "transactional")
    return _automatic(settings, subscriber, "data_link", context, language, subject, feedback)


def _automatic(
    settings: Settings, subscriber: Subscriber, template: str, context: dict, language: str, subject: str, feedback: str
) -> EmailMessage:
    """A message the service sends by itself, in its brand, marked so no autoresponder answers it (RFC 3834)."""
    html, text = render_html_and_text(settings, template, context, language)
    return build_message(
        settings,
        to=recipient(subscriber),
        subject=subject,
        html=html,
        text=text,
        sender=branded_sender(settings, context["brand"]),
        headers={"Auto-Submitted": "auto-generated", "Feedback-ID": feedback},
    )


def welcome_message(settings: Settings, subscriber: Subscriber, mailing_list: MailingList) -> EmailMessage:
    """The welcome email, already carrying the list's unsubscribe headers."""
    brand = brand_of(settings, mailing_list)
    context = {
        "brand": brand,
        "subscriber": subscriber,
        "list": mailing_list,
        "unsubscribe_url": links.unsubscribe_url(settings, subscriber.id, mailing_list.id),
        "preferences_url": links.preferences_url(settings, subscriber.id),
    }
    html, text = render_html_and_text(settings, "welcome", context, mailing_list.locale)
    headers = list_headers(settings, subscriber, mailing_list)
    headers["Feedback-ID"] = feedback_id(settings, "welcome", mailing_list.slug, "transactional")
    subject = translate(mailing_list.locale, "Welcome to %(list)s", list=mailing_list.name)
    return build_message(
        settings,
        to=recipient(subscriber),
        subject=subject,
        html=html,
        text=text,
        headers=headers,
        sender=branded_sender(settings, brand),
    )
