"""The emails in dark mode, where the client honours prefers-color-scheme: rendered in a real Chromium, light and
dark, at a phone's and a desktop's width, with axe-core finding no serious contrast problem; the light look is the
same pixels as without the dark styles."""

from __future__ import annotations

import re

import pytest

from service.editions.rendering import fill, public_values
from service.mail import emails
from service.models import Subscriber
from tests.support.axe import AXE_JS, axe_violations, describe
from tests.support.browser import chromium_page
from tests.support.edition_stories import built_edition

NOWHERE = "http://127.0.0.1:9"  # the emails load nothing: any request would fail the test
DARK_STYLE = re.compile(r"<style[^>]*>(?:(?!</style>).)*prefers-color-scheme: dark.*?</style>", re.S)
COLOR_SCHEME_META = re.compile(r'<meta name="(?:supported-)?color-schemes?" content="light dark"\s*/?>')


@pytest.fixture
def email_html(db, settings, world_news) -> dict[str, str]:
    """The HTML of an edition of ten seed-sized stories, and of the confirmation and welcome emails."""
    edition = built_edition(db, settings, world_news)
    reader = Subscriber(email="dark.reader@example.com", name="Ada")
    db.add(reader)
    db.commit()
    html = {"edition": fill(edition.html, edition.placeholder_key, public_values(settings, world_news), html=True)}
    for kind, message in (
        ("confirm", emails.confirmation_message(settings, reader, [world_news])),
        ("welcome", emails.welcome_message(settings, reader, world_news)),
    ):
        html[kind] = message.get_body(("html",)).get_content()
    return html


def light_only(html: str) -> str:
    """The same email without its dark-mode block and colour-scheme tags."""
    return COLOR_SCHEME_META.sub("", DARK_STYLE.sub("", html))


@pytest.mark.browser
@pytest.mark.parametrize("width", [375, 700])
def test_the_emails_pass_axe_in_light_and_dark(email_html, output_dir, width):
    found = {}
    with chromium_page(NOWHERE, viewport={"width": width, "height": 900}) as page:
        for kind, html in email_html.items():
            assert DARK_STYLE.search(html) and COLOR_SCHEME_META.search(html), f"{kind} has dark-mode styles"
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                page.set_content(html)
                page.add_script_tag(path=str(AXE_JS))
                page.screenshot(path=str(output_dir / f"email-{kind}-{width}-{scheme}.png"), full_page=True)
                body = page.evaluate("getComputedStyle(document.body).backgroundColor")
                assert body == ("rgb(242, 239, 233)" if scheme == "light" else "rgb(18, 20, 23)"), (kind, scheme)
                violations = axe_violations(page)
                if violations:
                    found[f"{kind} at {width} px, {scheme}"] = violations
    report = "\n".join(f"{where}:\n{describe(violations)}" for where, violations in found.items())
    assert not found, f"axe found serious or critical problems:\n{report}"


@pytest.mark.browser
def test_the_light_look_is_unchanged_by_the_dark_styles(email_html):
    with chromium_page(NOWHERE, viewport={"width": 700, "height": 900}) as page:
        page.emulate_media(color_scheme="light")
        for kind, html in email_html.items():
            page.set_content(html)
            with_dark = page.screenshot(full_page=True)
            page.set_content(light_only(html))
            assert page.screenshot(full_page=True) == with_dark, f"{kind}: the light rendering changed"
