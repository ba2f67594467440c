"""RSS and Atom ingestion against a real local HTTP server, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from service.core.config import get_settings
from service.models import Feed, Item, Story
from service.stories.feeds.intake import add_feed, make_client, poll_all
from service.stories.items import clusterer_from
from tests.support.cli import Ran, run_newsletter
from tests.support.feed_server import FeedServer, Route
from tests.support.ports import free_port

DATA = Path(__file__).parent / "data" / "feeds"
LAST_MODIFIED = "Thu, 05 Mar 2026 10:00:00 GMT"


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1 for the duration of one test."""
    feed_server = FeedServer().start()
    yield feed_server
    feed_server.stop()


def serve(server: FeedServer, path: str, name: str | None = None, **route) -> str:
    """Serve a file from tests/data/feeds (or the given route) at `path`; returns its URL."""
    if name is not None:
        route.setdefault("body", (DATA / name).read_bytes())
    server.routes[path] = Route(**route)
    return server.url(path)


def stories(session) -> dict[str, Story]:
    """Every stored story by title, read fresh from the database."""
    session.expire_all()
    return {s.title: s for s in session.scalars(select(Story))}


def feed_row(session, url: str) -> Feed:
    """A feed's row as stored now."""
    session.expire_all()
    return session.scalar(select(Feed).where(Feed.url == url))


def today_utc() -> set[date]:
    """Today in UTC (a set, in case a test runs across midnight)."""
    return {datetime.now(UTC).date()}


def poll(session, **client_options):
    """What the Celery task does: poll every feed with one client, then read results by URL."""
    with make_client(**client_options, allow_private=True) as client:  # the test server is on 127.0.0.1
        return {
            r.url: r
            for r in poll_all(session, client=client, clusterer=clusterer_from(get_settings()), allow_private=True)
        }


def test_rss_with_media_and_cdata_html_becomes_clean_stories(db, server):
    url = serve(server, "/world.xml", "world_rss.xml")
    add_feed(db, url=url, category="World News", allow_private=True)
    db.commit()

    result = poll(db)[url]

    assert (result.status, result.created, result.updated, result.error) == ("ok", 3, 0, None)
    got = stories(db)
    assert set(got) == {
        "Leaders agree ceasefire & aid corridor",
        "Central banks hold rates",
        "A long day at the summit",
    }
    ceasefire = got["Leaders agree ceasefire & aid corridor"]
    assert ceasefire.key_points == [
        "Leaders met in Geneva on Monday & agreed a ceasefire.",
        "Aid convoys will move on Wednesday.",
        "The U.N. will monitor the corridor from the air.",
    ]
    assert ceasefire.story_date == date(2026, 3, 3)
    assert ceasefire.category == "World News"
    assert ceasefire.link == "https://news.example.org/world/ceasefire"
    assert ceasefire.source_count == 1
    assert ceasefire.sources == [
        {"publisher": "Example", "title": ceasefire.title, "url": "https://news.example.org/world/ceasefire"}
    ]
    everything = " ".join(p for s in got.values() for p in s.key_points)
    for leftover in ("<", ">", "track(", "&amp;", "&nbsp;", "\xa0", "convoy.jpg", "Read more"):
        assert leftover not in everything
    assert got["Central banks hold rates"].key_points == [
        "Rates stay at 4% for a “careful” quarter",
        "Markets barely moved",
    ]
    summit = got["A long day at the summit"].key_points
    assert summit == [
        "Two happened next.",
        "Three followed!",
        "Four was a question?",
        "Five came later.",
        "Six closed the day.",
        "Seven still made the list.",
    ], "in order, at most six, no one-word stubs"
    assert feed_row(db, url).title == "Example World Desk"


def test_atom_feed_with_html_title_and_xhtml_content(db, server):
    url = serve(server, "/atom.xml", "atom.xml", content_type="application/atom+xml")
    add_feed(db, url=url, category="World News", allow_private=True)
    db.commit()

    assert poll(db)[url].created == 2
    got = stories(db)
    floods, election = got["Floods recede in the delta"], got["Election results certified"]
    assert floods.key_points == ["Water levels fell by a metre overnight.", "Farmers are returning & assessing damage."]
    assert floods.story_date == date(2026, 3, 5)  # published, not updated
    assert floods.sources[0]["publisher"] == "Atom Wire"
    assert election.key_points == ["The commission certified the results.", "Turnout was 71%."]
    assert election.story_date == date(2026, 3, 6)
    assert election.link == "https://wire.example.com/election"


def test_non_ascii_feeds_in_utf8_and_windows_1251(db, server):
    utf8 = serve(server, "/welt.xml", "unicode.xml")
    cyrillic = (
        '<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel><title>Новости мира</title>'
        "<item><title>Москва: открыт новый мост</title><guid>moscow-bridge</guid>"
        "<pubDate>Thu, 05 Mar 2026 08:00:00 +0300</pubDate>"
        "<description>Мост открыт для движения. Пробки исчезли.</description></item></channel></rss>"
    )
    cp1251 = serve(server, "/mir.xml", body=cyrillic.encode("cp1251"), content_type="text/xml")
    for url in (utf8, cp1251):
        add_feed(db, url=url, category="World News", allow_private=True)
    db.commit()

    results = poll(db)

    assert [results[u].created for u in (utf8, cp1251)] == [3, 1]
    got = stories(db)
    assert got["東京で新しい鉄道が開業"].key_points == ["利用者は多かった。"], "a point that restates the headline goes"
    assert got["Zürich stimmt über Wohnungsbau ab"].key_points == [
        "Die Stadt Zürich entscheidet über 2’000 neue Wohnungen.",
        "Grüße aus der Schweiz.",
    ]
    assert got["São Paulo prepara o Carnaval"].sources[0]["publisher"] == "Weltnachrichten", "the section suffix goes"
    moscow = got["Москва: открыт новый мост"]
    assert moscow.key_points == ["Мост открыт для движения.", "Пробки исчезли."]
    assert moscow.sources[0]["publisher"] == "Новости мира"
    assert moscow.story_date == date(2026, 3, 5)


def test_items_without_dates_are_dated_the_day_they_were_first_fetched(db, server):
    url = serve(server, "/undated.xml", "undated.xml")
    add_feed(db, url=url, category="Local", allow_private=True)
    db.commit()

    assert poll(db)[url].created == 3
    got = stories(db)
    assert {s.story_date for s in got.values()} <= today_utc()
    assert got["Harbour festival announced"].link is None  # no link, no guid: still taken in
    assert got["Bridge reopens after repairs"].category == "Local"

    got["Bridge reopens after repairs"].story_date = date(2026, 1, 2)  # as if first seen on an earlier day
    db.commit()
    second = poll(db)[url]
    assert (second.created, second.updated) == (0, 3)
    assert stories(db)["Bridge reopens after repairs"].story_date == date(2026, 1, 2)


def test_odd_date_formats(db, server):
    url = serve(server, "/odd.xml", "odd_dates.xml")
    add_feed(db, url=url, category="World News", allow_private=True)
    db.commit()

    poll(db)
    db.expire_all()
    dates = {item.title: item.published_at.date() for item in db.scalars(select(Item))}
    assert dates["Transit strike ends in New York"] == date(2026, 3, 4)  # 20:00 EST is 01:00 UTC the next day
    assert dates["Museum reopens after a decade of repairs"] == date(2026, 3, 5)
    assert dates["Court blocks the mining licence"] == date(2026, 3, 6)
    # first seen now, but never newer than the feed's newest dated item: it cannot jump ahead of them
    assert dates["Heatwave grips the south"] == date(2026, 3, 6)


def test_sloppy_but_readable_xml_is_still_taken_in(db, server):
    url = serve(server, "/bozo.xml", "bozo.xml")
    add_feed(db, url=url, category="Business", allow_private=True)
    db.commit()

    assert poll(db)[url].status == "ok"
    rally = stories(db)["Stocks rally & bonds slip"]
    assert rally.key_points == ["Shares rose sharply.", "Bonds fell."]
    assert rally.sources[0]["publisher"] == "Sloppy Markets"


def test_broken_feeds_are_recorded_and_never_stop_the_others(db, server):
    first = serve(server, "/world.xml", "world_rss.xml")
    error_500 = serve(server, "/down.xml", status=500, body=b"oops", content_type="text/plain")
    garbage = serve(server, "/garbage.xml", "malformed.bin")
    html_page = serve(
        server, "/page.html", body=b"<html><body><h1>Welcome</h1></body></html>", content_type="text/html"
    )
    missing = server.url("/gone.xml")
    unreachable = f"http://127.0.0.1:{free_port()}/feed.xml"
    last = serve(server, "/atom.xml", "atom.xml", content_type="application/atom+xml")
    for url in (first, error_500, garbage, html_page, missing, unreachable, last):
        add_feed(db, url=url, category="World News", allow_private=True)
    db.commit()

    results = poll(db)

    assert [results[u].status for u in (first, last)] == ["ok", "ok"]
    assert {"Central banks hold rates", "Election results certified"} <= set(stories(db))
    assert len(stories(db)) == 5
    expected = {
        error_500: "HTTP 500",
        garbage: "not a valid RSS or Atom feed",
        missing: "HTTP 404",
        html_page: "not a valid RSS or Atom feed",
        unreachable: "could not fetch the feed (connection refused)",
    }
    for url, words in expected.items():
        assert results[url].status == "error" and words in results[url].error
        row = feed_row(db, url)
        assert (row.last_status, row.consecutive_failures) == ("error", 1)
        assert words in row.last_error and row.last_polled_at is not None
    assert feed_row(db, first).last_error is None

    poll(db)
    assert feed_row(db, error_500).consecutive_failures == 2
    serve(server, "/down.xml", "undated.xml")  # the publisher fixes their server
    assert poll(db)[error_500].created == 3
    fixed = feed_row(db, error_500)
    assert (fixed.last_status, fixed.last_error, fixed.consecutive_failures) == ("ok", None, 0)
    assert len(stories(db)) == 8


def test_slow_and_oversized_feeds_are_cut_off(db, server):
    slow = serve(server, "/slow.xml", "atom.xml", delay=8.0)
    huge = serve(server, "/huge.xml", stream_bytes=6 * 1024 * 1024)
    fine = serve(server, "/world.xml", "world_rss.xml")
    for url in (slow, huge, fine):
        add_feed(db, url=url, category="World News", allow_private=True)
    db.commit()

    results = poll(db, timeout=2.0)  # the fine feed answers within it too, on a busy machine; the slow one never does

    assert "timed out" in results[slow].error
    assert "larger than 5 MB" in results[huge].error
    assert results[fine].created == 3 and len(stories(db)) == 3


def test_conditional_get_sends_validators_and_304_stores_nothing(db, server):
    with_etag = serve(server, "/etag.xml", "world_rss.xml", etag='"v1"', last_modified=LAST_MODIFIED)
    date_only = serve(server, "/dated.xml", "atom.xml", last_modified=LAST_MODIFIED)
    for url in (with_etag, date_only):
        add_feed(db, url=url, category="World News", allow_private=True)
    db.commit()

    first = poll(db)
    assert (first[with_etag].created, first[date_only].created) == (3, 2)
    assert (feed_row(db, with_etag).etag, feed_row(db, with_etag).last_modified) == ('"v1"', LAST_MODIFIED)
    before = {title: (s.id, s.updated_at) for title, s in stories(db).items()}

    second = poll(db)

    assert [second[u].status for u in (with_etag, date_only)] == ["not_modified", "not_modified"]
    assert (second[with_etag].created, second[with_etag].updated) == (0, 0)
    etag_request, date_request = server.requests_for("/etag.xml")[-1], server.requests_for("/dated.xml")[-1]
    assert etag_request.headers["if-none-match"] == '"v1"'
    assert etag_request.headers["if-modified-since"] == LAST_MODIFIED
    assert date_request.headers["if-modified-since"] == LAST_MODIFIED and "if-none-match" not in date_request.headers
    assert {title: (s.id, s.updated_at) for title, s in stories(db).items()} == before
    assert feed_row(db, with_etag).last_status == "not_modified"

    extra = (
        "<item><title>Breaking: port reopens</title><guid>urn:example:port</guid>"
        "<description>Ships are moving again.</description></item></channel>"
    )
    body = (DATA / "world_rss.xml").read_text().replace("</channel>", extra)
    serve(server, "/etag.xml", body=body.encode(), etag='"v2"')
    third = poll(db)[with_etag]
    assert (third.status, third.created, third.updated) == ("ok", 1, 3)
    assert feed_row(db, with_etag).etag == '"v2"' and feed_row(db, with_etag).last_modified is None
    assert len(stories(db)) == 6


def test_polling_twice_updates_and_never_duplicates(db, server):
    url = serve(server, "/world.xml", "world_rss.xml")
    mirror = serve(server, "/mirror.xml", "world_rss.xml")  # same items on another feed are that feed's stories
    for feed_url in (url, mirror):
        add_feed(db, url=feed_url, category="World News", allow_private=True)
    db.commit()

    first, second = poll(db), poll(db)

    assert [(first[u].created, first[u].updated) for u in (url, mirror)] == [(3, 0), (3, 0)]
    assert [(second[u].created, second[u].updated) for u in (url, mirror)] == [(0, 3), (0, 3)]
    db.expire_all()
    both = db.scalars(select(Story)).all()
    assert len(both) == 3, "the same headlines syndicated on two feeds are the same three events"
    assert sorted(len(story.items) for story in both) == [2, 2, 2]
    assert {item.feed_id for story in both for item in story.items} == {feed_row(db, url).id, feed_row(db, mirror).id}


def test_adding_the_same_url_again_keeps_one_feed(db, server):
    url = serve(server, "/world.xml", "world_rss.xml")
    add_feed(db, url=url, category="World News", allow_private=True)
    add_feed(db, url=f"  {url} ", category="Europe", allow_private=True)
    db.commit()
    assert [(f.url, f.category) for f in db.scalars(select(Feed))] == [(url, "Europe")]


def newsletter(*args: str) -> Ran:
    """Run the `newsletter` command as an admin would (its real entry point, in-process), on the test database."""
    return run_newsletter(*args, env={"COLUMNS": "250", "NO_COLOR": "1", "FEED_ALLOW_PRIVATE": "true"})


def test_cli_add_list_and_poll(db, server):
    good = serve(server, "/world.xml", "world_rss.xml", etag='"abc"')
    broken = serve(server, "/down.xml", status=500, body=b"", content_type="text/plain")

    added = newsletter("feeds", "add", good, "--category", "World News")
    assert added.returncode == 0, added.stderr
    assert good in added.stdout and "World News" in added.stdout
    assert newsletter("feeds", "add", broken, "--category", "World News").returncode == 0
    refused = newsletter("feeds", "add", "ftp://example.com/feed", "--category", "World News")
    assert refused.returncode == 2 and "http:// or https://" in refused.stderr

    listed = newsletter("feeds", "list")
    assert good in listed.stdout and broken in listed.stdout and "never" in listed.stdout

    polled = newsletter("feeds", "poll")
    assert polled.returncode == 1, polled.stdout + polled.stderr  # one feed failed
    line = next(row for row in polled.stdout.splitlines() if "Example World Desk" in row)
    assert "ok" in line and "3" in line
    assert "HTTP 500 Internal Server Error" in polled.stdout
    assert "2 feeds polled: 3 new items, 0 seen before, 1 failed" in polled.stdout
    assert len(stories(db)) == 3

    listed = newsletter("feeds", "list")
    assert "HTTP 500" in listed.stdout and "Example World Desk" in listed.stdout

    assert newsletter("feeds", "remove", broken).returncode == 0
    again = newsletter("feeds", "poll")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "not_modified" in again.stdout
    assert "1 feeds polled: 0 new items, 0 seen before, 0 failed" in again.stdout
    assert len(stories(db)) == 3


def test_script_and_data_links_in_a_feed_are_dropped_and_the_items_kept(db, server):
    entries = [
        ("Ceasefire talks open", "javascript:alert(document.cookie)"),
        ("Harbour reopens", "data:text/html,<script>alert(1)</script>"),
        ("Rates held", "vbscript:msgbox(1)"),
        ("Rain at last", "https://news.example.org/rain"),
    ]
    items = "".join(
        f"<item><title>{title}</title><link>{link.replace('<', '&lt;')}</link>"
        f'<guid isPermaLink="false">urn:links:{n}</guid><pubDate>Tue, 03 Mar 2026 09:15:00 GMT</pubDate>'
        f"<description>{title} today.</description></item>"
        for n, (title, link) in enumerate(entries)
    )
    url = serve(
        server,
        "/links.xml",
        body=f'<?xml version="1.0"?><rss version="2.0"><channel><title>Links desk'
        f"</title>{items}</channel></rss>".encode(),
    )
    add_feed(db, url=url, category="World News", allow_private=True)
    db.commit()
    assert poll(db)[url].created == 4
    got = stories(db)
    assert {title: story.link for title, story in got.items()} == {
        "Ceasefire talks open": None,
        "Harbour reopens": None,
        "Rates held": None,
        "Rain at last": "https://news.example.org/rain",
    }
    assert all(source["url"] in (None, "https://news.example.org/rain") for s in got.values() for source in s.sources)
