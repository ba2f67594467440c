"""One Jinja2 environment per language: jinja2.ext.i18n with that language's catalog, its formats and direction."""

from __future__ import annotations

from functools import partial
from typing import Any

from jinja2 import Environment

from service.i18n import formats
from service.i18n.locales import direction, translations

# Fonts to try before the house serif and sans, for scripts Georgia and Helvetica do not carry (Urdu's Nastaliq).
SCRIPT_FONTS = {"ur": "'Noto Nastaliq Urdu', 'Jameel Noori Nastaleeq', 'Noto Naskh Arabic', "}


def localise(env: Environment, language: str) -> Environment:
    """Give templates `_`/`ngettext` and `{% trans %}`, the date and number filters, `lang`, `dir`, `start`, `end`."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    rtl = direction(language) == "rtl"
    env.globals.update(
        lang=language,
        dir="rtl" if rtl else "ltr",
        start="right" if rtl else "left",
        end="left" if rtl else "right",
        script_fonts=SCRIPT_FONTS.get(language, ""),
    )
    env.filters.update(
        long_date=partial(formats.long_date, language=language),
        short_date=partial(formats.short_date, language=language),
        clock=partial(formats.clock, language=language),
        number=partial(formats.number, language=language),
        joined=partial(formats.joined, language=language),
    )
    return env


def translate(language: str, message: str, **variables: Any) -> str:
    """A message from Python code (subjects, page titles), %(name)s variables filled after translation."""
    text = translations(language).gettext(message)
    return text % variables if variables else text


def translate_plural(language: str, singular: str, plural: str, count: int, **variables: Any) -> str:
    """A counted message: `num` is the count, formatted for the language."""
    text = translations(language).ngettext(singular, plural, count)
    return text % {"num": formats.number(count, language), **variables}
