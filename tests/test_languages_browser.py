"""A Ukrainian list and an Urdu list in a real headless Chromium: the landing page, subscribing and check your inbox
in the list's language (Urdu laid out right to left, axe finding nothing serious), and each list's edition
email; screenshots in test-output/."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import expect

from service.editions import build_edition
from service.editions.rendering import edition_message
from service.lists.rules import create_list
from service.models import EditionStatus, Subscriber
from tests.support.axe import axe_violations, describe, install_axe
from tests.support.browser import chromium, chromium_page
from tests.support.edition_stories import add_story
from tests.support.live_server import live_server
from tests.support.ports import free_port

pytestmark = pytest.mark.sqlite_twin  # the reader journey on make run's SQLite too, as the issue asks
SENT_AT = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
HEADLINES = (
    "Summit in Tokyo ends with a trade pact",
    "Floods close the northern railway",
    "Central bank holds interest rates steady",
)
# What a reader of each list should see, as its catalog says it (tests/test_languages.py checks the catalogs).
LISTS = {
    "uk": {
        "slug": "svit",
        "name": "Світ за день",
        "get": "Отримуйте поштою",
        "email": "Адреса електронної пошти",
        "button": "Підписатися",
        "inbox": "Перевірте пошту",
        "contents": "У сьогоднішньому листі",
        "more": "Читати далі",
        "dir": "ltr",
    },
    "ur": {
        "slug": "duniya",
        "name": "دنیا آج",
        "get": "ای میل پر حاصل کریں",
        "email": "ای میل پتہ",
        "button": "رکنیت لیں",
        "inbox": "اپنا ان باکس دیکھیں",
        "contents": "آج کی ای میل میں",
        "more": "مزید پڑھیں",
        "dir": "rtl",
    },
}
WIDTHS = {"desktop": 1280, "phone": 375}
TEXT_GAPS = """el => { const range = document.createRange(); range.selectNodeContents(el);
  const text = range.getBoundingClientRect(), box = el.getBoundingClientRect();
  return [text.left - box.left, box.right - text.right]; }"""


@pytest.fixture(params=list(LISTS))
def language_site(request, settings, celery_worker, db, mailbox):
    """The real app under uvicorn with one list in this language and one edition of it that has gone out."""
    from service.web.app import create_app

    language = request.param
    wanted = LISTS[language]
    mailing_list = create_list(
        db, slug=wanted["slug"], name=wanted["name"], languages=[language], categories=["World News"], timezone="UTC"
    )
    for hours, title in enumerate(HEADLINES, start=1):
        add_story(db, title, sources=6 - hours, received_at=SENT_AT - timedelta(hours=hours))
    edition = build_edition(db, settings=settings, mailing_list=mailing_list, day=date(2026, 3, 9), now=SENT_AT)
    edition.send_status = EditionStatus.complete
    reader = Subscriber(email="reader@example.com", name="Reader", timezone="UTC")
    db.add(reader)
    db.commit()
    email = edition_message(settings, edition, mailing_list, reader).get_body(("html",)).get_content()
    port = free_port()
    with live_server(create_app(settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})), port) as running:
        yield language, running, email


@pytest.mark.browser
@pytest.mark.parametrize("device", WIDTHS)
def test_a_lists_landing_page_and_subscribing_speak_its_language_in_chromium(
    language_site, mailbox, output_dir, device
):
    language, server, _ = language_site
    wanted = LISTS[language]
    address = f"{language}.{device}@example.com"
    with chromium_page(server.origin, viewport={"width": WIDTHS[device], "height": 900}) as page:
        install_axe(page)
        page.goto(server.url("/"))
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.locator("html")).to_have_attribute("dir", wanted["dir"])
        expect(page.get_by_role("heading", name=wanted["get"])).to_be_visible()
        assert page.evaluate("getComputedStyle(document.body).direction") == wanted["dir"]
        home = page.locator(".site-header .home").bounding_box()
        nav = page.locator(".site-header nav").bounding_box()
        if wanted["dir"] == "rtl":  # mirrored: the site's name on the right, its menu on the left
            assert home["x"] > nav["x"], (home, nav)
        else:
            assert home["x"] < nav["x"], (home, nav)
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[device], "no sideways scrolling"
        page.screenshot(path=str(output_dir / f"landing-{language}-{WIDTHS[device]}.png"), full_page=True)
        violations = axe_violations(page)
        assert not violations, describe(violations)

        page.get_by_label(wanted["email"]).fill(address)
        page.get_by_role("button", name=wanted["button"]).click()
        expect(page).to_have_url(server.url("/subscribe/check-inbox"))
        expect(page.get_by_role("heading", level=1)).to_have_text(wanted["inbox"])
        expect(page.locator("main")).to_contain_text(address)
        page.screenshot(path=str(output_dir / f"check-inbox-{language}-{WIDTHS[device]}.png"), full_page=True)
    [confirmation] = mailbox.wait_for(address)
    assert f'lang="{language}" dir="{wanted["dir"]}"' in confirmation.message.get_body(("html",)).get_content()


@pytest.mark.browser
@pytest.mark.parametrize("device", WIDTHS)
def test_a_lists_edition_email_in_its_language_in_chromium(language_site, output_dir, device):
    language, _, html = language_site
    wanted = LISTS[language]
    with chromium() as browser:
        context = browser.new_context(viewport={"width": WIDTHS[device], "height": 900}, is_mobile=device == "phone")
        requested: list[str] = []
        context.route("**/*", lambda route: (requested.append(route.request.url), route.abort()))
        page = context.new_page()
        page.set_content(html, wait_until="load")
        contents = page.get_by_text(wanted["contents"])
        expect(contents).to_be_visible()
        expect(page.get_by_role("link", name=wanted["more"])).to_have_count(len(HEADLINES))
        assert page.evaluate("el => getComputedStyle(el).direction", contents.element_handle()) == wanted["dir"]
        # The short label's text hugs its box's start side: the left in Ukrainian, the right in Urdu.
        left_gap, right_gap = page.evaluate(TEXT_GAPS, contents.element_handle())
        assert (right_gap < 2 < left_gap) if wanted["dir"] == "rtl" else (left_gap < 2 < right_gap), (
            left_gap,
            right_gap,
        )
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
        page.screenshot(path=str(output_dir / f"email-{language}-{WIDTHS[device]}.png"), full_page=True)
        assert requested == [], requested
