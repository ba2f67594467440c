"""An editor shapes today's draft in a real headless Chromium and sends it: draft, drop, reorder, introduction,
preview at both widths and the text part, then "Send to N readers of ..." through the real worker and SMTP server.

Screenshots of each step at 1280 and 375 px go to test-output/admin-draft-*.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from service.core.db import engine_for
from service.lists.rules import create_list
from service.models import utcnow
from tests.support.admin import make_admin
from tests.support.browser import accept_confirms, chromium_page
from tests.support.edition_stories import day_of_stories
from tests.support.live_server import live_server
from tests.support.ports import free_port
from tests.support.readers import add_readers
from tests.test_admin_browser import ADMIN, NARROW, WIDE, shoot, sign_in

INTRO = "Good morning from the desk.\n\nOur notes on today's floods: https://example.org/floods"


@pytest.fixture
def server(settings, celery_worker, db, mailbox):
    """The real app on a free port; mail goes through the real worker to the real SMTP server."""
    from service.web.app import create_app

    port = free_port()
    with live_server(create_app(settings.model_copy(update={"base_url": f"http://127.0.0.1:{port}"})), port) as running:
        yield running


@pytest.fixture
def page(server):
    """A 1280 px page in headless Chromium that may only talk to the live server."""
    with chromium_page(server.origin, viewport=WIDE, timeout_ms=20_000) as page:
        yield page


def headlines(page: Page) -> list[str]:
    """The draft's story headlines in the order the editor's page shows them."""
    return page.locator("ol.draft-stories strong.story-title").all_inner_texts()


def both_widths(page: Page, output_dir, name: str) -> None:
    """Screenshots at 1280 and at 375 px."""
    shoot(page, output_dir, f"draft-{name}")
    page.set_viewport_size(NARROW)
    shoot(page, output_dir, f"draft-{name}-375")
    page.set_viewport_size(WIDE)


def story_item(page: Page, title: str):
    """The list item of one story of the draft."""
    return page.locator("ol.draft-stories > li").filter(has=page.locator("strong.story-title", has_text=title))


@pytest.mark.browser
def test_an_editor_drops_reorders_introduces_previews_and_sends_a_draft(
    server, page, db, mailbox, settings, output_dir
):
    make_admin(db, ADMIN)
    desk = create_list(
        db,
        slug="desk-news",
        name="Desk News daily",
        timezone="UTC",
        categories=["World News"],
        send_time=(utcnow().replace(hour=23, minute=59)).time(),
    )
    readers = add_readers(engine_for(settings.effective_database_url), desk.id, 12, prefix="desk")
    day_of_stories(db, 5, hostile=False)
    confirms = accept_confirms(page)
    sign_in(page, server, ADMIN)

    # A draft of today's edition, stored so it can be edited.
    page.goto(server.url("/admin/lists/desk-news/today"))
    page.get_by_role("button", name="Edit this draft").click()
    expect(page.get_by_role("status")).to_contain_text("Draft ready")
    expect(page.locator("#draft-state")).to_contain_text("Draft, version 1")
    page.wait_for_load_state("load")  # the notice comes before the stories: a read right after it can find half of them
    first = headlines(page)
    assert len(first) == 5, first
    both_widths(page, output_dir, "1-opened")

    # Drop the second story; it leaves the list and can be put back.
    dropped = first[1]
    story_item(page, dropped).get_by_role("button", name="Drop").click()
    expect(page.get_by_role("status")).to_contain_text(f"Dropped “{dropped}”")
    page.wait_for_load_state("load")
    assert dropped not in headlines(page)
    expect(page.get_by_role("button", name="Put back")).to_be_visible()
    both_widths(page, output_dir, "2-dropped")

    # Move the last story up one place.
    before = headlines(page)
    story_item(page, before[-1]).get_by_role("button", name="Move up").click()
    expect(page.get_by_role("status")).to_have_text("Stories reordered.")
    page.wait_for_load_state("load")
    assert headlines(page) == [*before[:-2], before[-1], before[-2]]
    both_widths(page, output_dir, "3-reordered")

    # An introduction with a link.
    page.get_by_label("A few lines above the stories").fill(INTRO)
    page.get_by_role("button", name="Save introduction").click()
    expect(page.get_by_role("status")).to_have_text("Introduction saved.")
    expect(page.locator("#draft-state")).to_contain_text("Draft, version 4")

    # The preview shows it at both widths, with the link and without the dropped story; so does the text part.
    for kind in ("desktop", "phone"):
        frame = page.locator(f"iframe.{kind}")
        frame.scroll_into_view_if_needed()
        body = frame.content_frame.locator("body")
        expect(body).to_contain_text("Good morning from the desk.")
        expect(frame.content_frame.locator('a[href="https://example.org/floods"]')).to_have_count(1)
        expect(body).not_to_contain_text(dropped)
    both_widths(page, output_dir, "4-preview")
    page.get_by_role("link", name="View the text part").click()
    expect(page.locator("main")).to_contain_text("Good morning from the desk.")
    shoot(page, output_dir, "draft-5-text")
    page.go_back()

    # Send now names the audience, and the confirmation names the list and the date.
    button = page.get_by_role("button", name="Send to 12 readers of Desk News daily")
    expect(button).to_be_visible()
    day = utcnow().date()
    button.click()
    expect(page).to_have_url(re.compile(r"/admin/editions/\d+$"), timeout=60_000)
    assert confirms() == [
        f"Send Desk News daily of {day:%A} {day.day} {day:%B %Y} to 12 readers now? This cannot be undone."
    ], confirms()
    expect(page.get_by_role("heading", level=1).locator(".badge")).to_have_text("complete", timeout=90_000)
    mailbox.wait_for_each(readers)
    for reader in readers:
        [message] = mailbox.messages_to(reader)
        html = message.message.get_body(("html",)).get_content()
        assert "Good morning from the desk." in html and dropped not in html
    both_widths(page, output_dir, "6-sent")
