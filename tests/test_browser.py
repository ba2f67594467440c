"""A reader's journey in a real headless Chromium: subscribe, confirm, unsubscribe, on the real app under uvicorn."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.support.browser import chromium_page
from tests.support.live_server import live_server
from tests.support.ports import free_port
from tests.support.web import link_path, statuses

EMAIL = "browser.reader@example.com"


@pytest.fixture
def server(settings, celery_worker, db, mailbox):
    """The real app on a free 127.0.0.1 port; its emails go through the real worker to the real SMTP server."""
    from service.web.app import create_app

    port = free_port()  # the app's BASE_URL is where the browser finds it: forms check their Origin against it
    with live_server(create_app(settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})), port) as running:
        yield running


@pytest.fixture
def page(server):
    """A fresh page in a real headless Chromium that may only talk to the live server."""
    with chromium_page(server.origin, viewport={"width": 1000, "height": 800}) as page:
        yield page


def on_server(server, url: str) -> str:
    """A link from an email (made for BASE_URL) opened on the live server instead: same path and query."""
    parts = urlsplit(url)
    return server.url(parts.path + (f"?{parts.query}" if parts.query else ""))


@pytest.mark.browser
def test_subscribe_confirm_unsubscribe_in_chromium(server, page, db, world_news, mailbox, output_dir):
    # Subscribe, as a person would: open the page, fill the form, press the button.
    page.goto(server.url("/subscribe"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Subscribe to World News daily")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_label("Name").fill("Ada Browser")
    # one list: no checkbox to tick; the time zone is the browser's, put in a hidden field by our script
    expect(page.locator('input[name="list"]')).to_have_value("world-news")
    browser_zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    expect(page.locator('input[name="timezone"]')).to_have_value(browser_zone)
    page.screenshot(path=str(output_dir / "browser-subscribe.png"), full_page=True)
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    expect(page).to_have_url(server.url("/subscribe/check-inbox"))

    # The confirmation email arrives; its link shows a button and confirms nothing by itself.
    [confirmation] = mailbox.wait_for(EMAIL)
    assert confirmation.message["Subject"] == "Please confirm your subscription to World News daily"
    page.goto(server.url(link_path(confirmation.message, "confirm")))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your subscription")
    expect(page.get_by_text(EMAIL)).to_be_visible()
    confirm = page.get_by_role("button", name="Confirm my subscription")
    expect(confirm).to_be_visible()
    assert statuses(db, EMAIL) == {"world-news": "unconfirmed"}, "opening the link must not confirm"
    confirm.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are subscribed")
    expect(page.get_by_role("status")).to_contain_text("World News daily")
    assert statuses(db, EMAIL) == {"world-news": "confirmed"}

    # The welcome email's List-Unsubscribe link leads to a page with a button.
    welcome = mailbox.wait_for(EMAIL, count=2)[1].message
    assert welcome["Subject"] == "Welcome to World News daily"
    unsubscribe_link = welcome["List-Unsubscribe"].split(",")[0].strip("<> ")
    page.goto(on_server(server, unsubscribe_link))
    expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribe")
    expect(page.locator("main")).to_contain_text("Press the button to stop receiving World News daily")
    assert statuses(db, EMAIL) == {"world-news": "confirmed"}, "opening the link must not unsubscribe"
    expect(page.get_by_role("heading", name="Pause instead")).to_be_visible()
    expect(page.get_by_role("button", name="Pause my emails")).to_be_visible()
    page.screenshot(path=str(output_dir / "browser-unsubscribe.png"), full_page=True)
    page.get_by_role("button", name="Unsubscribe", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    expect(page.get_by_role("link", name="Subscribe again")).to_be_visible()
    expect(page.get_by_role("link", name="Manage my preferences")).to_have_count(0)  # the unsubscribe link is no key
    page.screenshot(path=str(output_dir / "browser-unsubscribed.png"), full_page=True)
    assert statuses(db, EMAIL) == {"world-news": "unsubscribed"}
