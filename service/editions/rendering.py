"""Editions: MJML compiled once per edition, per-recipient values filled by plain token replacement, MIME."""

from __future__ import annotations

import html as html_lib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage

import css_inline

from service.bounces.verp import signed_message_id
from service.branding.brand import brand_of, sender
from service.core.config import Settings
from service.i18n.formats import joined, long_date
from service.i18n.locales import DEFAULT
from service.i18n.templating import translate, translate_plural
from service.mail import emails, links
from service.models import Edition, MailingList, Story, Subscriber

PER_RECIPIENT = ("unsubscribe_url", "preferences_url", "recipient_email")
PREHEADER_LENGTH = 140
MAX_POINTS = 6  # a briefing, not the whole story: the rest is on the story's page
NAMED_PUBLISHERS = 3
_INLINER = css_inline.CSSInliner(keep_style_tags=True)


@dataclass(frozen=True)
class RenderedEdition:
    """An edition's content with per-recipient placeholders still in it."""

    subject: str
    preheader: str
    html: str
    text: str
    placeholder_key: str


@dataclass(frozen=True)
class StoryBrief:
    """One story as the edition shows it: a few key points, a few publishers by name, the link to its page."""

    story: Story
    title: str  # the story's headline, or the editor's for this edition
    points: list[dict[str, str | None]]  # {"text", "publisher", "item_url"}: who said it is shown beside it
    source_count: int
    publishers: str
    url: str


def story_url(settings: Settings, story_id: int) -> str:
    """A story's public page, where its every point, source and item is."""
    return f"{settings.base_url}/stories/{story_id}"


def _publisher_names(story: Story) -> list[str]:
    """The story's publishers by name, each once, in the order its sources give them."""
    names = dict.fromkeys(str(source.get("publisher") or "").strip() for source in story.sources or [])
    names.pop("", None)
    return list(names)


def _named(names: list[str], more: int, language: str = DEFAULT) -> str:
    """'A', 'A and B', 'A, B and C', or 'A, B, C and 8 more' (in the list's language)."""
    parts = names + ([translate_plural(language, "%(num)s more", "%(num)s more", more)] if more > 0 else [])
    return joined(parts, language)


def story_brief(settings: Settings, story: Story, edit: dict | None = None, language: str = DEFAULT) -> StoryBrief:
    """The story cut down for the email: at most six points, at most three publishers named; `edit`: the editor's
    headline and key points for this edition ({"title", "points"}), which replace the story's own."""
    names = _publisher_names(story)
    count = max(story.source_count or 0, len(names))
    shown = names[:NAMED_PUBLISHERS]
    edit = edit or {}
    points = (
        [{"text": str(text), "publisher": None, "item_url": None} for text in edit["points"]]
        if edit.get("points") is not None
        else story.points()
    )
    return StoryBrief(
        story=story,
        title=edit.get("title") or story.title,
        points=points[:MAX_POINTS],
        source_count=count,
        publishers=_named(shown, count - len(shown), language) if shown else "",
        url=story_url(settings, story.id),
    )


def total_sources(stories: Sequence[Story]) -> int:
    """Distinct publishers across the edition; never fewer than one story alone counts (some only count, not name)."""
    named = {name.casefold() for story in stories for name in _publisher_names(story)}
    return max([len(named), *(story.source_count or 0 for story in stories)])


def placeholders(key: str) -> dict[str, str]:
    """Tokens no story can contain: each edition gets its own random key."""
    return {name: f"%%{key}:{name}%%" for name in PER_RECIPIENT}


def edition_subject(mailing_list: MailingList, day: date) -> str:
    """Subject from the list and the date, e.g. 'World News daily: Tuesday 24 November 2026', in its language."""
    language = mailing_list.locale
    return translate(language, "%(list)s: %(date)s", list=mailing_list.name, date=long_date(day, language))


def edition_preheader(titles: Sequence[str]) -> str:
    """The inbox preview line: the first headlines."""
    joined = " · ".join(titles)
    return joined if len(joined) <= PREHEADER_LENGTH else joined[: PREHEADER_LENGTH - 1].rstrip() + "…"


def archive_url(settings: Settings, mailing_list: MailingList, day: date) -> str:
    """The edition's 'view in browser' page."""
    return f"{settings.base_url}/archive/{mailing_list.slug}/{day.isoformat()}"


def render_edition(
    settings: Settings,
    mailing_list: MailingList,
    day: date,
    stories: Sequence[Story],
    intro: str = "",
    edits: dict | None = None,
) -> RenderedEdition:
    """Render HTML (MJML, styles inlined) and text once; story text is autoescaped data, never template code.

    `intro`: the editor's introduction (plain text with links, made safe HTML by service.editions.intro);
    `edits`: the editor's headline and key points per story id, for this edition only.
    """
    from service.editions.intro import intro_html  # markdown-it and nh3: only where an edition is rendered

    key = secrets.token_hex(8)
    language = mailing_list.locale
    briefs = [story_brief(settings, story, (edits or {}).get(str(story.id)), language) for story in stories]
    preheader = edition_preheader([brief.title for brief in briefs])
    context = {
        "brand": brand_of(settings, mailing_list),
        "list": mailing_list,
        "day": day,
        "day_label": long_date(day, language),
        "stories": stories,
        "briefs": briefs,
        "intro_html": intro_html(intro),
        "intro_text": intro.strip(),
        "total_sources": total_sources(stories),
        "preheader": preheader,
        "ph": placeholders(key),
        "archive_url": archive_url(settings, mailing_list, day),
    }
    html, text = emails.render_html_and_text(settings, "edition", context, language)
    return RenderedEdition(
        subject=edition_subject(mailing_list, day),
        preheader=preheader,
        html=_INLINER.inline(html),
        text=text,
        placeholder_key=key,
    )


def fill(content: str, key: str, values: dict[str, str], *, html: bool) -> str:
    """Put one recipient's values into frozen content; HTML values are escaped."""
    for name, token in placeholders(key).items():
        value = values.get(name, "")
        content = content.replace(token, html_lib.escape(value, quote=True) if html else value)
    return content


def recipient_values(settings: Settings, subscriber: Subscriber, mailing_list: MailingList) -> dict[str, str]:
    """The per-recipient values: signed links and the address."""
    return {
        "unsubscribe_url": links.unsubscribe_url(settings, subscriber.id, mailing_list.id),
        "preferences_url": links.preferences_url(settings, subscriber.id),
        "recipient_email": subscriber.email,
    }


def public_values(settings: Settings, mailing_list: MailingList) -> dict[str, str]:
    """Values for the web archive, where there is no recipient."""
    subscribe = f"{settings.base_url}/subscribe?list={mailing_list.slug}"
    return {
        "unsubscribe_url": subscribe,
        "preferences_url": subscribe,
        "recipient_email": translate(mailing_list.locale, "your address"),
    }


def edition_message_id(settings: Settings, edition: Edition, subscriber_id: int) -> str:
    """Stable per (edition, reader) to spot a duplicate send; signed, so a complaint quoting it names its reader."""
    return signed_message_id(settings, edition.id, subscriber_id)


def edition_message(
    settings: Settings, edition: Edition, mailing_list: MailingList, subscriber: Subscriber
) -> EmailMessage:
    """The complete email one subscriber receives."""
    values = recipient_values(settings, subscriber, mailing_list)
    headers = emails.list_headers(settings, subscriber, mailing_list)
    headers["Precedence"] = "bulk"
    headers["Feedback-ID"] = emails.feedback_id(settings, f"edition-{edition.id}", mailing_list.slug, "newsletter")
    return emails.build_message(
        settings,
        to=emails.recipient(subscriber),
        subject=edition.subject,
        html=fill(edition.html, edition.placeholder_key, values, html=True),
        text=fill(edition.text, edition.placeholder_key, values, html=False),
        headers=headers,
        message_id=edition_message_id(settings, edition, subscriber.id),
        sender=sender(settings, brand_of(settings, mailing_list)),
    )
