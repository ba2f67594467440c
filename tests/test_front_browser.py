"""The front door in a real headless Chromium at 1280 px and 375 px: the landing page, its script-filled time zone,
check your inbox (a reload posts nothing), confirmed, and on to the latest edition; screenshots in test-output/."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import expect

from service.editions import build_edition
from service.models import EditionStatus
from tests.support.admin import PASSWORD, make_admin
from tests.support.browser import chromium, chromium_page
from tests.support.edition_stories import add_story
from tests.support.live_server import live_server
from tests.support.ports import free_port
from tests.support.web import link_path
from tests.test_branding import png

SENT_AT = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
HEADLINES = (
    "Summit in Tokyo ends with a trade pact",
    "Floods close the northern railway",
    "Central bank holds interest rates steady",
)
WIDTHS = {"desktop": 1280, "phone": 375}
ADMIN = "ann@example.org"


@pytest.fixture
def server(settings, celery_worker, db, mailbox, world_news):
    """The real app under uvicorn, with one edition that has gone out."""
    from service.web.app import create_app

    for hours, title in enumerate(HEADLINES, start=1):
        add_story(db, title, sources=6 - hours, received_at=SENT_AT - timedelta(hours=hours))
    edition = build_edition(db, settings=settings, mailing_list=world_news, day=date(2026, 3, 9), now=SENT_AT)
    edition.send_status = EditionStatus.complete
    db.commit()
    port = free_port()
    with live_server(create_app(settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})), port) as running:
        yield running


@pytest.mark.browser
@pytest.mark.parametrize("device", WIDTHS)
def test_the_landing_page_in_chromium(server, mailbox, output_dir, device):
    email = f"landing.{device}@example.com"
    with chromium_page(server.origin, viewport={"width": WIDTHS[device], "height": 900}) as page:
        page.goto(server.url("/"))
        expect(page.get_by_role("heading", level=1)).to_have_text("World News daily")
        expect(page.get_by_text("The day's most important world stories")).to_be_visible()
        for headline in HEADLINES:
            expect(page.get_by_role("link", name=headline)).to_have_attribute("href", "/archive/world-news/2026-03-09")
        expect(page.get_by_role("link", name="Browse the archive of past editions")).to_be_visible()
        zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
        expect(page.locator('input[name="timezone"]')).to_have_value(zone)  # filled by /static/timezone.js
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[device], "no sideways scrolling"
        page.screenshot(path=str(output_dir / f"landing-{WIDTHS[device]}.png"), full_page=True)

        # Only the email is required; the answer is a 303 to a page a reload cannot post again.
        page.get_by_label("Email address").fill(email)
        page.get_by_role("button", name="Subscribe").click()
        expect(page).to_have_url(server.url("/subscribe/check-inbox"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
        expect(page.locator("main")).to_contain_text(email)
        expect(page.locator("main")).to_contain_text("spam")
        page.reload()
        expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
        page.screenshot(path=str(output_dir / f"check-inbox-{WIDTHS[device]}.png"), full_page=True)
        [confirmation] = mailbox.wait_for(email)

        # The link from the real email: confirm, then the page says when the next edition comes.
        page.goto(server.url(link_path(confirmation.message, "confirm")))
        page.get_by_role("button", name="Confirm my subscription").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("You are subscribed")
        expect(page.locator("main")).to_contain_text(f"your time ({zone})")
        page.screenshot(path=str(output_dir / f"confirmed-{WIDTHS[device]}.png"), full_page=True)
        page.get_by_role("link", name="World News daily: Monday 9 March 2026").click()
        # retried: the click may return before the edition's page is the one shown (the path alone counts, as before)
        expect(page).to_have_url(re.compile(re.escape(server.url("/archive/world-news/2026-03-09")) + r"(?:[?#].*)?$"))
        mailbox.wait_for(email, count=2)
        assert len(mailbox.messages_to(email)) == 2, "the confirmation and the welcome: the reload sent nothing"


@pytest.mark.browser
def test_a_form_error_shows_under_its_field_and_keeps_the_input_in_chromium(server, mailbox, output_dir):
    # chromium_page fails on any console error, and Chromium logs the 422 of the form's answer as one; so this
    # test opens Chromium itself and allows exactly that line
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 375, "height": 900})
        context.route(
            "**/*",
            lambda route: route.continue_() if route.request.url.startswith(server.origin + "/") else route.abort(),
        )  # our origin only, as chromium_page does
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(server.url("/"))
        page.get_by_label("Email address").fill("ada@@example")
        page.get_by_label("Name").fill("Ada Lovelace")
        page.get_by_role("button", name="Subscribe").click()
        email = page.get_by_label("Email address")
        expect(email).to_have_value("ada@@example")
        expect(page.get_by_label("Name")).to_have_value("Ada Lovelace")
        expect(email).to_have_attribute("aria-invalid", "true")
        expect(email).to_have_attribute("aria-describedby", "email-error email-hint")
        expect(page.locator("#email-error")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("Please correct the field marked below")
        page.screenshot(path=str(output_dir / "form-error-375.png"), full_page=True)
        assert [text for text in problems if "status of 422" not in text] == [], problems
    mailbox.assert_nothing_for("ada@@example")


@pytest.mark.browser
def test_branding_set_in_the_admin_screen_shows_on_the_front_page_in_chromium(server, db, output_dir, tmp_path):
    make_admin(db, ADMIN)
    logo = tmp_path / "logo.png"
    logo.write_bytes(png())
    with chromium_page(server.origin, viewport={"width": 1280, "height": 900}, timeout_ms=15_000) as page:
        page.goto(server.url("/admin/login"))
        page.get_by_label("Email address").fill(ADMIN)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Branding").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Branding")
        page.get_by_label("Name", exact=True).fill("Morning Brief")
        page.get_by_label("About text").fill("Five stories before breakfast.")
        page.get_by_label("Accent colour").fill("#1a5c8e")  # (a too light one: tests/test_branding.py)
        page.get_by_label("Logo").set_input_files(str(logo))
        page.get_by_role("button", name="Save branding").click()
        expect(page.get_by_role("status")).to_contain_text("Saved the site branding")
        page.screenshot(path=str(output_dir / "admin-branding.png"), full_page=True)

        page.goto(server.url("/archive"))  # a page of the site (the front page is the one list's own)
        expect(page.locator(".site-header .home")).to_contain_text("Morning Brief")
        image = page.locator(".site-header .home img")
        expect(image).to_be_visible()
        assert page.evaluate("document.querySelector('.site-header .home img').naturalWidth") == 4, "the logo loads"
        accent = page.evaluate("getComputedStyle(document.querySelector('.site-header')).borderBottomColor")
        assert accent == "rgb(26, 92, 142)"
        page.goto(server.url("/"))
        expect(page.locator(".site-header img")).to_be_visible()
        page.screenshot(path=str(output_dir / "landing-branded-1280.png"), full_page=True)
