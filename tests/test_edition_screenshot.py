"""The edition's HTML part as a reader sees it, in a real headless Chromium at desktop and phone widths.

The screenshots land in test-output/ (edition-desktop.png, edition-mobile.png) for a person to look at.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import expect

from service.editions import build_edition
from service.editions.rendering import edition_message
from service.models import Subscriber
from tests.support.browser import chromium
from tests.support.edition_stories import add_story, long_story, seed_story, store

DAY = date(2026, 3, 10)
T0 = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
HOSTILE_TITLE = "Markets & {{ 7*7 }} <script>alert(1)</script> rally"
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "mobile": {"width": 375, "height": 812}}


@pytest.fixture
def edition_html(db, settings, world_news) -> tuple[str, list[str]]:
    """The HTML part one subscriber receives for a day of six stories (the seed, four long ones, a hostile one)."""
    stored = [store(db, seed_story(), T0 - timedelta(minutes=5))]
    stored += [
        store(db, long_story(number, source_count=11 - number), T0 - timedelta(minutes=10 + number))
        for number in range(1, 5)
    ]
    stored.append(
        add_story(
            db,
            HOSTILE_TITLE,
            sources=1,
            received_at=T0 - timedelta(hours=1),
            key_points=["Shares rose 3% & bonds fell; <b>not bold</b>."],
            link="https://news.example.com/markets",
        )
    )
    edition = build_edition(db, settings=settings, mailing_list=world_news, day=DAY, now=T0)
    reader = Subscriber(email="screen.reader@example.com", name="Screen Reader")
    db.add(reader)
    db.commit()
    message = edition_message(settings, edition, world_news, reader)
    return message.get_body(("html",)).get_content(), [story.title for story in stored]


@pytest.mark.browser
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_edition_renders_in_chromium(edition_html, viewport, output_dir):
    html, titles = edition_html
    with chromium() as browser:
        context = browser.new_context(
            viewport=VIEWPORTS[viewport], locale="en-GB", is_mobile=viewport == "mobile", java_script_enabled=True
        )
        requested: list[str] = []
        context.route("**/*", lambda route: (requested.append(route.request.url), route.abort()))
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.set_content(html, wait_until="load")

        expect(page.get_by_text("In today’s email")).to_be_visible()
        contents = page.locator("ol li")
        expect(contents).to_have_text(titles)
        for title in titles:
            headline = page.get_by_role("heading", name=title, exact=True)
            expect(headline).to_be_visible()
            box = headline.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORTS[viewport]["width"] + 1, title
        sources = page.get_by_text("Based on 11 sources: Ministry of Foreign Affairs of Japan and 10 more")
        expect(sources).to_be_visible()
        expect(page.get_by_role("link", name="Read more")).to_have_count(len(titles))
        expect(page.get_by_role("link", name="Unsubscribe")).to_be_visible()
        expect(page.get_by_role("link", name="View this edition in your browser")).to_be_visible()
        expect(page.get_by_text("<b>not bold</b>", exact=False)).to_be_visible()
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"the page is wider than the {viewport} viewport: {widths}"
        if viewport == "mobile":
            body_font = page.evaluate("getComputedStyle(document.querySelector('li')).fontSize")
            assert float(body_font.rstrip("px")) >= 14, f"key points are too small to read on a phone: {body_font}"
        page.screenshot(path=str(output_dir / f"edition-{viewport}.png"), full_page=True)
        assert dialogs == [], "story text ran as script"
        assert requested == [], f"the email asked for remote resources: {requested}"
        context.close()
