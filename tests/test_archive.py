"""The public archive as web pages: the lists, a list's editions, one edition (not the email), and the Atom feed."""

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
from service.editions.rendering import edition_message
from service.lists.rules import create_list
from service.models import EditionStatus, Subscriber
from tests.support.edition_stories import HEADLINES, add_story

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


class Recorder(NoMail):
    """Keeps the subscribe requests the pages hand on, as the worker would receive them."""

    def __init__(self):
        self.requests = []

    def subscribe_request(self, request):
        self.requests.append(request)


def subscribe_box(page: str) -> str:
    """The list the page's subscribe box preselects; the box posts to the subscribe endpoint with a CSRF token."""
    box = re.search(r'<form method="post" action="/subscribe">(.*?)</form>', page, re.S)
    assert box, "the page has a subscribe box"
    assert 'name="csrf_token"' in box.group(1) and 'name="email"' in box.group(1)
    return re.search(r'<input type="hidden" name="list" value="([^"]+)">', box.group(1)).group(1)


@pytest.fixture
def web(settings, db):
    """The real app without a worker: the archive only reads."""
    from tests.support.apps import shared_app

    with TestClient(shared_app(settings, notifier=NoMail())) as client:
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


def test_the_archive_goes_straight_to_the_only_list(web, two_editions):
    answer = web.get("/archive", follow_redirects=False)

    assert answer.status_code == 302 and answer.headers["location"] == "/archive/world-news"
    assert web.get("/archive/world-news/", follow_redirects=False).headers["location"] == "/archive/world-news"
    assert web.get("/archive/no-such-list/", follow_redirects=False).status_code == 404


def test_with_several_lists_the_archive_lists_them_with_their_latest_edition(web, db, two_editions):
    create_list(
        db, slug="science", name="Science & Tech", description="Discoveries, weekly-ish.", categories=["Science"]
    )
    page = web.get("/archive")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert re.findall(r'<h2[^>]*><a href="(/archive/[^"]+)">([^<]+)</a></h2>', page.text) == [
        ("/archive/science", "Science &amp; Tech"),
        ("/archive/world-news", "World News daily"),
    ]
    assert "Discoveries, weekly-ish." in page.text and "No editions yet." in page.text
    assert 'Latest: <a href="/archive/world-news/2026-03-10">Tuesday 10 March 2026</a>' in page.text


def test_a_lists_archive_shows_dates_and_top_headlines_newest_first(web, db, settings, world_news, two_editions):
    page = web.get("/archive/world-news")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    dates = re.findall(r'<a href="(/archive/world-news/[\d-]+)"><time datetime="[\d-]+">([^<]+)</time></a>', page.text)
    assert dates == [
        ("/archive/world-news/2026-03-10", "Tuesday 10 March 2026"),
        ("/archive/world-news/2026-03-09", "Monday 9 March 2026"),
    ]
    assert "2 stories" in page.text and "1 story" in page.text
    headlines = re.findall(r'<a href="/stories/(\d+)">([^<]+)</a>', page.text)
    assert [title for _, title in headlines] == [
        "Markets &amp; Mergers &lt;b&gt;bold&lt;/b&gt; {{ 7*7 }}",
        "Election results",
        "Summit in Tokyo",
    ]
    assert all(web.get(f"/stories/{story_id}").status_code == 200 for story_id, _ in headlines)
    assert 'href="/archive/world-news/feed.xml"' in page.text
    assert subscribe_box(page.text) == "world-news"


def test_a_long_edition_shows_its_top_three_headlines_in_the_lists_archive(web, db, settings, world_news):
    for number, headline in enumerate(HEADLINES[:5]):
        add_story(db, headline, sources=9 - number, received_at=T1 - timedelta(hours=1))
    build_edition(db, settings=settings, mailing_list=world_news, day=DAY1, now=T1).send_status = "complete"
    db.commit()
    page = web.get("/archive/world-news").text

    assert [title for _, title in re.findall(r'<a href="/stories/(\d+)">([^<]+)</a>', page)] == HEADLINES[:3]
    assert "5 stories" in page and "and 2 more" in page


def test_archive_without_editions(web, db, world_news):
    page = web.get("/archive/world-news")

    assert page.status_code == 200
    assert "No editions yet." in page.text


def test_an_edition_is_a_web_page_of_its_stories_not_the_email(web, settings, two_editions):
    _, second = two_editions
    page = web.get("/archive/world-news/2026-03-10")

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert '<time datetime="2026-03-10">Tuesday 10 March 2026</time></h1>' in text
    assert escape(HOSTILE_TITLE, quote=False) in text and "<b>bold</b>" not in text
    assert "Election results" in text and "Summit in Tokyo" not in text
    assert "What happened in Election results." in text, "each story's key points"
    story_links = re.findall(r'<h2 id="story-\d+"[^>]*><a href="/stories/(\d+)"', text)
    assert [int(story_id) for story_id in story_links] == second.story_ids
    assert re.findall(r'<a href="/stories/(\d+)"[^>]*>Read more</a>', text) == story_links
    assert f"%%{second.placeholder_key}:" not in text, "no placeholder is left"
    assert "/unsubscribe" not in text and "/preferences" not in text, "no reader's links"
    assert "View this edition in your browser" not in text and "View in browser" not in text
    assert settings.postal_address not in text and "You receive this email" not in text, "no email footer"
    assert subscribe_box(text) == "world-news"
    assert 'href="/archive/world-news/2026-03-09" rel="prev"' in text, "the edition before it"


def test_an_archived_edition_says_what_each_story_is_based_on(web, settings, two_editions):
    page = web.get("/archive/world-news/2026-03-10").text

    assert "2 stories from 5 sources" in page, "the edition's header counts its publishers"
    assert "Based on 5 sources: Reuters, Associated Press, The Japan Times and 2 more" in page
    assert "Based on 2 sources: Reuters and Associated Press" in page


def test_the_subscribe_box_on_an_edition_subscribes_to_its_list(settings, db, two_editions):
    from tests.support.apps import shared_app

    notifier = Recorder()
    with TestClient(shared_app(settings, notifier=notifier)) as browser:
        page = browser.get("/archive/world-news/2026-03-10").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        answer = browser.post(
            "/subscribe", data={"csrf_token": token, "list": subscribe_box(page), "email": "box.reader@example.com"}
        )

    assert answer.status_code == 200 and "Check your inbox" in answer.text
    [request] = notifier.requests
    assert request.address == "box.reader@example.com" and request.list_ids == [two_editions[0].list_id]
    assert request.timezone == "Europe/London", "the list's zone, until the reader picks one"


@pytest.mark.parametrize("status", [EditionStatus.draft, EditionStatus.paused, EditionStatus.cancelled])
def test_an_edition_that_has_not_gone_out_is_not_public(web, db, settings, world_news, status):
    add_story(db, "Embargoed statement", received_at=T1 - timedelta(hours=1))
    build_edition(db, settings=settings, mailing_list=world_news, day=DAY1, now=T1).send_status = status
    db.commit()

    assert web.get("/archive/world-news/2026-03-09").status_code == 404
    assert "Embargoed statement" not in web.get("/archive/world-news").text
    assert "Embargoed statement" not in web.get("/archive/world-news/feed.xml").text


def test_an_edition_has_one_address(web, two_editions):
    assert web.get("/archive/world-news/2026-03-11/", follow_redirects=False).status_code == 404
    for typed in ("/archive/world-news/20260310", "/archive/world-news/2026-03-10/", "/archive/world-news/20260310/"):
        answer = web.get(typed, follow_redirects=False)
        assert answer.status_code == 301 and answer.headers["location"] == "/archive/world-news/2026-03-10"


@pytest.mark.parametrize(
    "path",
    [
        "/archive/no-such-list/2026-03-10",
        "/archive/world-news/2026-03-11",
        "/archive/world-news/1999-01-01",
        "/archive/world-news/not-a-date",
        "/archive/world-news/2026-02-30",
        "/archive/no-such-list/feed.xml",
    ],
)
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
    assert page.status_code == 200, "the link of every email already sent still opens its edition"
    assert escape(HOSTILE_TITLE, quote=False) in page.text and "Election results" in page.text


def test_feed_is_atom_with_one_entry_per_edition(web, db, settings, world_news, two_editions):
    _, second = two_editions
    answer = web.get("/archive/world-news/feed.xml")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(answer.content)
    assert root.tag == f"{ATOM}feed" and len(root.findall(f"{ATOM}entry")) == 2
    feed = feedparser.parse(answer.content)
    assert feed.version == "atom10" and not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "World News daily"
    assert [entry.title for entry in feed.entries] == [
        "World News daily: Tuesday 10 March 2026",
        "World News daily: Monday 9 March 2026",
    ]
    assert [entry.link for entry in feed.entries] == [
        f"{settings.base_url}/archive/world-news/2026-03-10",
        f"{settings.base_url}/archive/world-news/2026-03-09",
    ]
    assert len({entry.id for entry in feed.entries}) == 2
    newest, oldest = feed.entries
    assert newest.summary_detail.type == "text/plain", "the headlines, for readers that show a line"
    assert newest.summary == "Markets & Mergers <b>bold</b> {{ 7*7 }} · Election results"
    [content] = newest.content
    assert content.type == "text/html"
    # Each story: its title linked to its page (text escaped once, never markup), its key points, its sources.
    stories = re.findall(
        r'<h2><a href="([^"]+)">([^<]+)</a></h2><ul><li>([^<]+)</li></ul><p>Based on (\d) sources', content.value
    )
    assert [(link, title, point, int(count)) for link, title, point, count in stories] == [
        (
            f"{settings.base_url}/stories/{second.story_ids[0]}",
            escape(HOSTILE_TITLE, quote=False),
            escape(f"What happened in {HOSTILE_TITLE}.", quote=False),
            5,
        ),
        (
            f"{settings.base_url}/stories/{second.story_ids[1]}",
            "Election results",
            "What happened in Election results.",
            2,
        ),
    ]
    assert "<b>bold</b>" not in content.value
    assert "Summit in Tokyo" in oldest.content[0].value and "Election results" not in oldest.content[0].value


def test_feed_titles_are_not_double_escaped(web, db, settings):
    science = create_list(db, slug="science", name="Science & Tech <daily>", categories=["Science"])
    add_story(db, "Comets & asteroids", category="Science", received_at=T2 - timedelta(hours=1))
    build_edition(db, settings=settings, mailing_list=science, day=DAY2, now=T2).send_status = EditionStatus.complete
    db.commit()

    feed = feedparser.parse(web.get("/archive/science/feed.xml").content)

    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "Science & Tech <daily>"
    assert [entry.title for entry in feed.entries] == ["Science & Tech <daily>: Tuesday 10 March 2026"]
    assert feed.entries[0].summary == "Comets & asteroids"
    assert ">Comets &amp; asteroids</a></h2>" in feed.entries[0].content[0].value
    assert "&amp;amp;" not in web.get("/archive/science").text


def test_feed_of_a_list_without_editions_is_valid_and_empty(web, db, world_news):
    feed = feedparser.parse(web.get("/archive/world-news/feed.xml").content)

    assert feed.version == "atom10" and not feed.bozo
    assert feed.entries == []


def test_a_long_archive_comes_a_page_at_a_time(web, db, settings, world_news, monkeypatch):
    from service.web import archive

    monkeypatch.setattr(archive, "PAGE_SIZE", 2)
    for offset in range(5):
        day = DAY1 + timedelta(days=offset)
        add_story(db, f"Story of day {offset}", received_at=T1 + timedelta(days=offset, hours=-1))
        build_edition(
            db, settings=settings, mailing_list=world_news, day=day, now=T1 + timedelta(days=offset)
        ).send_status = EditionStatus.complete
        db.commit()

    def dates(page_text):
        return re.findall(r'<time datetime="([\d-]+)">', page_text)

    first, second, third = (web.get("/archive/world-news" + query).text for query in ("", "?page=2", "?page=3"))
    assert dates(first) == ["2026-03-13", "2026-03-12"] and 'href="/archive/world-news?page=2">Older' in first
    assert dates(second) == ["2026-03-11", "2026-03-10"] and 'href="/archive/world-news">&larr; Newer' in second
    assert dates(third) == ["2026-03-09"] and "Older editions" not in third
    assert web.get("/archive/world-news?page=4").status_code == 404
    assert web.get("/archive/world-news?page=0").status_code == 422


def test_a_story_page_leads_back_to_its_lists_archive(web, two_editions):
    _, second = two_editions
    page = web.get(f"/stories/{second.story_ids[0]}").text

    assert '<a href="/archive/world-news">World News daily archive</a>' in page
