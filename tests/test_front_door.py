"""The front door as a reader meets it: landing page → subscribe → check your inbox (303, refresh-safe, limited
resend) → confirm from the real email → "you are subscribed" with the next edition's time → the latest edition;
form errors that keep the input; unsubscribe with "pause instead" and per-list choices."""

from __future__ import annotations

import re
import time as clock
from datetime import UTC, date, datetime, time, timedelta

import pytest

from service.editions import build_edition
from service.lists.rules import create_list
from service.models import EditionStatus, Subscriber, as_utc
from tests.support.edition_stories import add_story
from tests.support.web import confirmed_reader, csrf_from, link_path, statuses

EMAIL = "front.reader@example.com"
DAY = date(2026, 3, 9)
SENT_AT = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
HEADLINES = ("Summit in Tokyo ends with a trade pact", "Floods close the northern railway")


@pytest.fixture
def latest(db, settings, world_news):
    """An edition that has gone out, with two headlines."""
    for hours, title in enumerate(HEADLINES, start=1):
        add_story(db, title, sources=5 - hours, received_at=SENT_AT - timedelta(hours=hours))
    edition = build_edition(db, settings=settings, mailing_list=world_news, day=DAY, now=SENT_AT)
    edition.send_status = EditionStatus.complete
    db.commit()
    return edition


def form_post(client, **fields):
    """Submit the landing page's form as a browser would (no redirect followed)."""
    data = {"csrf_token": csrf_from(client, "/"), "list": "world-news", "timezone": "", **fields}
    return client.post("/subscribe", data=data, follow_redirects=False)


def test_the_landing_page_shows_the_list_its_latest_headlines_and_a_one_field_form(client, latest):
    page = client.get("/")
    assert page.status_code == 200
    text = page.text
    assert '<h1 id="site-name">World News daily</h1>' in text, "one public list: the page is the list's"
    assert "The day&#39;s most important world stories" in text, "the about text is the list's description"
    for headline in HEADLINES:
        assert re.search(rf'<a href="/archive/world-news/2026-03-09">{headline}</a>', text), headline
    assert 'href="/archive"' in text
    assert re.search(r'<input id="email" name="email" type="text"[^>]*required', text)
    assert 'name="name"' in text and "(optional)" in text
    assert '<input type="hidden" name="timezone" value="" data-browser-timezone>' in text
    assert '<script src="/static/timezone.js" defer></script>' in text
    assert "<select" not in text and "Pacific/Kiritimati" not in text, "no 599-item time zone list"
    script = client.get("/static/timezone.js")
    assert script.status_code == 200 and "resolvedOptions().timeZone" in script.text


def test_several_lists_are_checkboxes_and_the_site_speaks_for_itself(client, db, world_news):
    create_list(
        db,
        slug="science",
        name="Science weekly",
        send_time=time(8, 0),
        timezone="Europe/Paris",
        description="Discoveries.",
        categories=["Science"],
        languages=["en"],
    )
    text = client.get("/").text
    assert text.count('type="checkbox" name="list"') == 2
    assert '<h1 id="site-name">World News daily</h1>' in text, "the site's name (MAIL_FROM's display name)"
    assert "The first edition has not gone out yet" in text


def test_subscribe_answers_303_to_check_your_inbox_and_a_refresh_sends_nothing_more(client, db, latest, mailbox):
    answer = form_post(client, email=EMAIL, name="Ada Front")
    assert answer.status_code == 303 and answer.headers["location"] == "/subscribe/check-inbox"
    assert EMAIL not in answer.headers["location"], "the address never travels in the URL"
    for _refresh in range(3):
        page = client.get("/subscribe/check-inbox")
        assert page.status_code == 200 and "Check your inbox" in page.text
        assert f"<strong>{EMAIL}</strong>" in page.text and "spam" in page.text
    mailbox.wait_for(EMAIL)
    clock.sleep(1.0)
    assert len(mailbox.messages_to(EMAIL)) == 1, "refreshing the page posts nothing"


def test_resend_is_limited_per_address(client, db, world_news, mailbox):
    form_post(client, email=EMAIL)
    mailbox.wait_for(EMAIL)
    for sent in (2, 3):
        again = client.post(
            "/subscribe/resend",
            data={"csrf_token": csrf_from(client, "/subscribe/check-inbox")},
            follow_redirects=False,
        )
        assert again.status_code == 303 and again.headers["location"] == "/subscribe/check-inbox"
        assert "We have sent the email again" in client.get("/subscribe/check-inbox").text
        mailbox.wait_for(EMAIL, count=sent)
    refused = client.post("/subscribe/resend", data={"csrf_token": csrf_from(client, "/subscribe/check-inbox")})
    assert refused.status_code == 200 and "We cannot send another email to this address yet" in refused.text
    clock.sleep(1.5)
    assert len(mailbox.messages_to(EMAIL)) == 3


def test_a_forged_or_missing_inbox_cookie_sends_nothing(client, db, world_news, mailbox):
    client.cookies.set("nl_inbox", "eyJhIjoidmljdGltQGV4YW1wbGUuY29tIn0.forged", path="/subscribe")
    page = client.get("/subscribe/check-inbox")
    assert "victim@example.com" not in page.text and "no longer knows which address" in page.text
    answer = client.post("/subscribe/resend", data={"csrf_token": csrf_from(client, "/")}, follow_redirects=False)
    assert answer.status_code == 303
    mailbox.assert_nothing_for("victim@example.com")


def test_confirmed_says_when_the_first_edition_comes_in_the_readers_time_and_links_the_latest(
    client, db, latest, mailbox
):
    form_post(client, email=EMAIL, timezone="America/New_York")
    confirmation = mailbox.wait_for(EMAIL)[0].message
    confirm = link_path(confirmation, "confirm")
    done = client.post(confirm, data={"csrf_token": csrf_from(client, confirm)})
    assert done.status_code == 200 and "You are subscribed" in done.text
    # 07:00 in London is 02:00 in New York (03:00 in the weeks when only one side is on summer time)
    assert re.search(
        r"The next edition of <strong>World News daily</strong> arrives <strong>"
        r"(today|tomorrow) at 0[23]:00</strong> your time \(America/New_York\)",
        done.text,
    ), done.text
    assert '<a href="/archive/world-news/2026-03-09">World News daily: Monday 9 March 2026</a>' in done.text
    assert re.search(r'href="http://testserver/preferences/[^"]+">your preferences</a>', done.text)


def test_a_local_time_list_comes_at_its_send_time_in_the_readers_zone(client, db, mailbox):
    create_list(
        db,
        slug="local",
        name="Local morning",
        send_time=time(6, 30),
        timezone="Europe/London",
        local_time_delivery=True,
        categories=["World News"],
        languages=["en"],
    )
    form_post(client, email=EMAIL, list="local", timezone="Asia/Tokyo")
    confirm = link_path(mailbox.wait_for(EMAIL)[0].message, "confirm")
    done = client.post(confirm, data={"csrf_token": csrf_from(client, confirm)})
    assert re.search(r"arrives <strong>(today|tomorrow) at 06:30</strong> your time \(Asia/Tokyo\)", done.text)
    assert "The first edition has not gone out yet" in done.text


def test_form_errors_show_under_their_field_and_keep_what_was_typed(client, db, world_news, mailbox):
    create_list(
        db,
        slug="science",
        name="Science weekly",
        send_time=time(8, 0),
        timezone="Europe/Paris",
        categories=["Science"],
        languages=["en"],
    )
    bad_address = form_post(client, email="ada@@example", name="Ada Lovelace", list=["science"])
    assert bad_address.status_code == 422
    text = bad_address.text
    assert 'value="ada@@example"' in text and 'value="Ada Lovelace"' in text
    assert re.search(r'aria-describedby="email-error email-hint" aria-invalid="true"', text)
    assert re.search(r'<p class="field-error" id="email-error">[^<]+</p>', text)
    assert 'value="science" checked' in text and 'value="world-news" checked' not in text, "the chosen list stays"
    no_list = form_post(client, email=EMAIL, name="Ada", list=[])
    assert no_list.status_code == 422 and 'id="list-error">Please choose at least one list.' in no_list.text
    assert f'value="{EMAIL}"' in no_list.text and 'id="email-error"' not in no_list.text
    bad_name = form_post(client, email=EMAIL, name="Ada =?utf-8?q?x?=")
    assert bad_name.status_code == 422 and 'id="name-error"' in bad_name.text and f'value="{EMAIL}"' in bad_name.text
    mailbox.assert_nothing_for(EMAIL)


def test_unsubscribe_offers_pause_instead(client, db, world_news, mailbox):
    _, welcome = confirmed_reader(client, mailbox, EMAIL)
    path = link_path(welcome, "unsubscribe")
    page = client.get(path)
    assert "Pause instead" in page.text and "Leave only some newsletters" not in page.text, "one list: no choice"
    paused = client.post(f"{path}/pause", data={"csrf_token": csrf_from(client, path), "pause": "1w"})
    assert paused.status_code == 200 and "Your emails are paused" in paused.text
    db.expire_all()
    reader = db.query(Subscriber).one()
    assert as_utc(reader.paused_until) - datetime.now(UTC) > timedelta(days=6)
    assert statuses(db, EMAIL) == {"world-news": "confirmed"}, "pausing keeps the subscription"


def test_unsubscribe_lets_a_reader_leave_some_lists_and_keep_others(client, db, world_news, mailbox):
    create_list(
        db,
        slug="science",
        name="Science weekly",
        send_time=time(8, 0),
        timezone="Europe/Paris",
        categories=["Science"],
        languages=["en"],
    )
    _, welcome = confirmed_reader(client, mailbox, EMAIL, lists=("world-news", "science"))
    path = link_path(welcome, "unsubscribe")
    page = client.get(path).text
    assert "Leave only some newsletters" in page and 'value="science"' in page and 'value="world-news"' in page
    left = client.post(f"{path}/lists", data={"csrf_token": csrf_from(client, path), "list": ["science"]})
    assert left.status_code == 200 and "Science weekly" in left.text
    assert statuses(db, EMAIL) == {"world-news": "confirmed", "science": "unsubscribed"}
