"""The site's name, logo and accent head and foot every reader page, the front door of a one-list site included,
while a list keeps its own name where the list is meant; every email's From line carries the sender name."""

from __future__ import annotations

import re
from datetime import date

from service.branding.brand import update_site
from service.core.db import engine_for
from service.delivery.schedule import send_now
from service.mail import links
from service.models import Subscriber, utcnow
from service.tasks import start_drains
from tests.support.edition_stories import day_of_stories
from tests.support.readers import add_readers, wait_until_complete
from tests.support.web import confirmed_reader, csrf_from, html_part, subscribe_by_form

SITE = {
    "name": "Globe Post",
    "about": "The world, briefly.",
    "accent_color": "#1a5c8e",
    "sender_name": "Globe Post desk",
}
SENDER = "Globe Post desk <news@news.example.org>"


def renamed(db) -> None:
    """The admin renames the site in Branding (the same use case the admin form and API call)."""
    update_site(db, **SITE)
    db.commit()


def header_and_footer(page: str) -> tuple[str, str]:
    """The page's site header and footer, as a reader sees them at the top and bottom."""
    header = re.search(r'<header class="site-header">(.*?)</header>', page, re.DOTALL)
    footer = re.search(r"<footer[^>]*>(.*?)</footer>", page, re.DOTALL)
    assert header and footer, page[:500]
    return header.group(1), footer.group(1)


def assert_site_branded(page: str, where: str) -> None:
    header, footer = header_and_footer(page)
    assert "<span>Globe Post</span>" in header, f"{where}: the header names the site"
    assert "Globe Post:" in footer and "World News daily" not in footer, f"{where}: the footer names the site"
    assert "World News daily" not in header, f"{where}: the list does not take the site's place in the header"
    assert "--site-accent:#1a5c8e;" in page and "· Globe Post</title>" in page, where


def test_renaming_the_site_renames_every_reader_pages_header_and_footer(client, db, world_news, settings, mailbox):
    renamed(db)
    pages = {"landing": client.get("/"), "subscribe": client.get("/subscribe")}
    assert '<h1 id="site-name">World News daily</h1>' in pages["landing"].text, "the one list keeps its own hero"
    assert "--accent:#1a5c8e;" in pages["landing"].text

    confirmation, welcome = confirmed_reader(client, mailbox, "reader@example.com")
    reader = db.query(Subscriber).filter_by(email="reader@example.com").one()
    pages["check inbox"] = client.get("/subscribe/check-inbox")
    confirm = links.confirm_url(settings, reader.id, [world_news.id]).removeprefix(settings.base_url)
    pages["confirm"] = client.get(confirm)
    pages["confirmed"] = client.post(confirm, data={"csrf_token": csrf_from(client, confirm)})
    preferences = links.preferences_url(settings, reader.id).removeprefix(settings.base_url)
    pages["preferences"] = client.get(preferences)
    pages["data link sent"] = client.post(
        f"{preferences}/data-link", data={"csrf_token": csrf_from(client, preferences)}
    )
    data_link = mailbox.wait_for("reader@example.com", count=3)[-1].message
    unsubscribe = links.unsubscribe_url(settings, reader.id, world_news.id).removeprefix(settings.base_url)
    pages["unsubscribe"] = client.get(unsubscribe)
    pages["unsubscribed"] = client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    pages["not found"] = client.get("/no-such-page")

    stories = day_of_stories(db, 2, hostile=False)
    engine = engine_for(settings.effective_database_url)
    add_readers(engine, world_news.id, 1)
    edition, _ = send_now(settings, db, world_news, utcnow().date(), utcnow())
    start_drains(edition.id, 1)
    wait_until_complete(engine, edition.id)
    pages["archive"] = client.get("/archive/world-news")
    pages["web edition"] = client.get(f"/archive/world-news/{edition.edition_date.isoformat()}")
    pages["story"] = client.get(f"/stories/{stories[0].id}")
    for where, answer in pages.items():
        assert_site_branded(answer.text, where)
    assert "<h1>World News daily</h1>" in pages["archive"].text, "a list's archive keeps the list's name"
    assert "Get World News daily by email" in pages["web edition"].text, "and so does its subscribe box"

    edition_email = mailbox.wait_for("reader0@example.org")[-1].message
    for message in (confirmation, welcome, data_link, edition_email):
        assert message["From"] == SENDER, message["Subject"]
    assert "World News daily</div>" in html_part(edition_email), "the email's title is the list's name"


def test_the_sender_name_is_on_every_email_from_a_list_without_its_own(client, db, world_news, mailbox):
    renamed(db)
    subscribe_by_form(client, "two@example.com")
    [confirmation] = mailbox.wait_for("two@example.com")
    assert confirmation.message["From"] == SENDER
    site_wide = client.get("/archive/world-news/" + date(2026, 1, 1).isoformat())
    assert site_wide.status_code == 404 and "<span>Globe Post</span>" in header_and_footer(site_wide.text)[0]
