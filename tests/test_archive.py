"""The public archive: the list of editions, one edition's page ('view in browser'), and the Atom feed."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import escape
from urllib.parse import urlsplit
from xml.etree import ElementTree

import feedparser
import pytest
from fastapi.testclient import TestClient

from service.editions import build_edition
from service.lists import create_list
from service.models import EditionStatus, Subscriber
from service.rendering import edition_message
from tests.support.edition_stories import add_story

DAY1, DAY2 = date(2026, 3, 9), date(2026, 3, 10)
T1 = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
T2 = T1 + timedelta(days=1)
HOSTILE_TITLE = "Markets & Mergers <b>bold</b> {{ 7*7 }}"
ATOM = "{http://www.w3.org/2005/Atom}"


class NoMail:
    """The archive sends nothing; any attempt fails the test."""

    def confirmation(self, subscriber_id, list_ids):
        raise AssertionError("the archive must not send mail")

    welcome = confirmation


@pytest.fixture
def web(settings, db):
    """The real app without a worker: the archive only reads."""
    from service.web.app import create_app

    with TestClient(create_app(settings, notifier=NoMail())) as client:
        yield client


@pytest.fixture
def two_editions(db, settings, world_news):
    """Editions on two days, the second with a title full of characters that need escaping."""
    add_story(db, "Summit in Tokyo", sources=8, received_at=T1 - timedelta(hours=2))
    first = build_edition(db, settings=settings, mailing_list=world_news, day=DAY1, now=T1)
    first.send_status = EditionStatus.complete
    db.commit()
    add_story(db, HOSTILE_TITLE, sources=5, received_at=T2 - timedelta(hours=3))
    add_story(db, "Election results", sources=2, received_at=T2 - timedelta(hours=1))
    second = build_edition(db, settings=settings, mailing_list=world_news, day=DAY2, now=T2)
    for edition in (first, second):
        edition.send_status = EditionStatus.complete  # only editions that have gone out are public
    db.commit()
    return first, second


def test_archive_lists_past_editions_newest_first(web, two_editions):
    page = web.get("/archive")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    links = re.findall(r'<a href="(/archive/world-news/[\d-]+)">([^<]+)</a>', page.text)
    assert links == [("/archive/world-news/2026-03-10", "World News daily: Tuesday 10 March 2026"),
                     ("/archive/world-news/2026-03-09", "World News daily: Monday 9 March 2026")]
    assert "2 stories" in page.text and "1 story" in page.text
    listed = re.findall(r'<a href="/stories/(\d+)">([^<]+)</a>\s*<span class="hint">· Based on (\d+) sources?',
                        page.text)
    assert [(title, int(count)) for _, title, count in listed] == [
        ("Markets &amp; Mergers &lt;b&gt;bold&lt;/b&gt; {{ 7*7 }}", 5), ("Election results", 2), ("Summit in Tokyo", 8)]
    assert 'href="/archive/world-news/feed.xml"' in page.text


def test_archive_without_editions(web, db, world_news):
    page = web.get("/archive")

    assert page.status_code == 200
    assert "No editions yet." in page.text


def test_one_edition_shows_its_stories_without_anyones_links(web, settings, two_editions):
    _, second = two_editions
    page = web.get("/archive/world-news/2026-03-10")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert escape(HOSTILE_TITLE, quote=False) in page.text and "<b>bold</b>" not in page.text
    assert "Election results" in page.text and "Summit in Tokyo" not in page.text
    assert f"%%{second.placeholder_key}:" not in page.text, "no placeholder is left unfilled"
    assert "/unsubscribe/" not in page.text and "/preferences/" not in page.text, "no reader's signed links"
    assert f'href="{settings.base_url}/subscribe?list=world-news"' in page.text


def test_an_archived_edition_says_what_each_story_is_based_on(web, settings, two_editions):
    page = web.get("/archive/world-news/2026-03-10").text

    assert "2 stories from 5 sources" in page, "the edition's header counts its publishers"
    assert "Based on 5 sources: Reuters, Associated Press, The Japan Times and 2 more" in page
    assert "Based on 2 sources: Reuters and Associated Press" in page
    assert re.findall(rf'href="{re.escape(settings.base_url)}/stories/(\d+)"[^>]*>Read more<', page)


@pytest.mark.parametrize("path", ["/archive/no-such-list/2026-03-10", "/archive/world-news/2026-03-11",
                                  "/archive/world-news/1999-01-01", "/archive/world-news/not-a-date",
                                  "/archive/world-news/2026-02-30", "/archive/no-such-list/feed.xml"])
def test_unknown_list_or_date_is_a_404_page(web, two_editions, path):
    page = web.get(path)

    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text


def test_the_emails_view_in_browser_link_opens_the_archived_edition(web, db, settings, world_news, two_editions):
    _, second = two_editions
    reader = Subscriber(email="ada@example.com", name="Ada")
    db.add(reader)
    db.commit()
    message = edition_message(settings, second, world_news, reader)
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()

    expected = f"{settings.base_url}/archive/world-news/2026-03-10"
    links = set(re.findall(r'href="([^"]*/archive/[^"]*)"', html))
    assert links == {expected}
    assert re.search(r'<a href="[^"]+"[^>]*>View this edition in your browser</a>', html)
    assert f"View in your browser: {expected}" in text
    page = web.get(urlsplit(expected).path)
    assert page.status_code == 200
    assert escape(HOSTILE_TITLE, quote=False) in page.text and "Election results" in page.text


def test_feed_is_atom_with_one_entry_per_edition(web, db, settings, world_news, two_editions):
    answer = web.get("/archive/world-news/feed.xml")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(answer.content)
    assert root.tag == f"{ATOM}feed" and len(root.findall(f"{ATOM}entry")) == 2
    feed = feedparser.parse(answer.content)
    assert feed.version == "atom10" and not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "World News daily"
    assert [entry.title for entry in feed.entries] == ["World News daily: Tuesday 10 March 2026",
                                                       "World News daily: Monday 9 March 2026"]
    assert [entry.link for entry in feed.entries] == [f"{settings.base_url}/archive/world-news/2026-03-10",
                                                      f"{settings.base_url}/archive/world-news/2026-03-09"]
    assert len({entry.id for entry in feed.entries}) == 2
    newest = feed.entries[0]
    assert newest.summary_detail.type == "text/html"
    # The summary is HTML in which the title is text: its '&' and '<b>' are escaped once, never markup.
    assert newest.summary == ("<ul><li>Markets &amp; Mergers &lt;b&gt;bold&lt;/b&gt; {{ 7*7 }}</li>"
                              "<li>Election results</li></ul>")
    assert feed.entries[1].summary == "<ul><li>Summit in Tokyo</li></ul>"


def test_feed_titles_are_not_double_escaped(web, db, settings):
    science = create_list(db, slug="science", name="Science & Tech <daily>", categories=["Science"])
    add_story(db, "Comets & asteroids", category="Science", received_at=T2 - timedelta(hours=1))
    build_edition(db, settings=settings, mailing_list=science, day=DAY2, now=T2).send_status = EditionStatus.complete
    db.commit()

    feed = feedparser.parse(web.get("/archive/science/feed.xml").content)

    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "Science & Tech <daily>"
    assert [entry.title for entry in feed.entries] == ["Science & Tech <daily>: Tuesday 10 March 2026"]
    assert feed.entries[0].summary == "<ul><li>Comets &amp; asteroids</li></ul>"
    assert "&amp;amp;" not in web.get("/archive").text


def test_feed_of_a_list_without_editions_is_valid_and_empty(web, db, world_news):
    feed = feedparser.parse(web.get("/archive/world-news/feed.xml").content)

    assert feed.version == "atom10" and not feed.bozo
    assert feed.entries == []
