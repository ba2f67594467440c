"""Leaving: RFC 8058 one-click from a mail client, and the unsubscribe page's own button, told apart in the record."""

import pytest
from sqlalchemy import select

from service.lists.rules import create_list
from service.models import ConsentEvent, Subscriber, Subscription
from tests.support.web import CSRF, confirmed_reader, csrf_from, link_path, statuses, subscribe_by_form

EMAIL = "leaver@example.com"


def unsubscribe_events(db, email: str) -> list[tuple[str, str]]:
    """(list slug, consent source) of every unsubscribe recorded for the address, oldest first."""
    db.expire_all()
    rows = db.execute(
        select(Subscription, ConsentEvent.source)
        .join(ConsentEvent, ConsentEvent.subscription_id == Subscription.id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(Subscriber.email == email, ConsentEvent.action == "unsubscribed")
        .order_by(ConsentEvent.id)
    ).all()
    result = [(subscription.mailing_list.slug, source) for subscription, source in rows]
    db.commit()
    return result


def header_path(welcome) -> str:
    """The path of the https link in List-Unsubscribe, as a mail client would POST it."""
    return welcome["List-Unsubscribe"].split(",")[0].strip("<> ").replace("http://testserver", "")


def mail_client_post(client, path: str, encoding: str):
    """What Gmail or Apple Mail sends: no cookie, no CSRF token, just the RFC 8058 body."""
    client.cookies.clear()
    if encoding == "multipart":
        return client.post(path, files={"List-Unsubscribe": (None, "One-Click")}, follow_redirects=False)
    return client.post(
        path,
        content=b"List-Unsubscribe=One-Click",
        follow_redirects=False,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_one_click_from_a_mail_client_sets_no_cookie_and_is_recorded_as_one_click(
    client, db, world_news, mailbox, encoding
):
    _, welcome = confirmed_reader(client, mailbox, EMAIL)
    path = header_path(welcome)
    for _ in range(3):  # mail clients retry; every answer is the same and only the first changes anything
        answer = mail_client_post(client, path, encoding)
        assert answer.status_code == 200, answer.text
        assert "location" not in answer.headers
        assert "set-cookie" not in answer.headers, "RFC 8058: the one-click answer must not set cookies"
        assert "You are unsubscribed" in answer.text
    assert statuses(db, EMAIL) == {"world-news": "unsubscribed"}
    assert unsubscribe_events(db, EMAIL) == [("world-news", "one-click")]


def test_the_pages_own_button_is_recorded_apart_from_a_mail_clients_one_click(client, db, world_news, mailbox):
    _, welcome = confirmed_reader(client, mailbox, EMAIL)
    page_path = link_path(welcome, "unsubscribe")
    page = client.get(page_path)
    assert page.status_code == 200 and "Press the button" in page.text
    form = {"List-Unsubscribe": "One-Click", "csrf_token": CSRF.search(page.text).group(1)}
    answer = client.post(page_path, data=form, follow_redirects=False)
    assert answer.status_code == 200 and "You are unsubscribed" in answer.text
    assert "set-cookie" not in answer.headers
    assert statuses(db, EMAIL) == {"world-news": "unsubscribed"}
    assert unsubscribe_events(db, EMAIL) == [("world-news", "unsubscribe-page")]


def test_a_token_field_without_its_cookie_still_unsubscribes_but_counts_as_one_click(client, db, world_news, mailbox):
    _, welcome = confirmed_reader(client, mailbox, EMAIL)
    path = header_path(welcome)
    lifted = csrf_from(client, path)
    client.cookies.clear()
    answer = client.post(path, data={"List-Unsubscribe": "One-Click", "csrf_token": lifted})
    assert answer.status_code == 200
    assert unsubscribe_events(db, EMAIL) == [("world-news", "one-click")]


def test_one_click_leaves_only_the_list_whose_email_carried_the_link(client, db, world_news, mailbox):
    create_list(db, slug="science", name="Science weekly", timezone="UTC")
    subscribe_by_form(client, EMAIL, lists=("world-news", "science"))
    confirm = link_path(mailbox.wait_for(EMAIL)[0].message, "confirm")
    client.post(confirm, data={"csrf_token": csrf_from(client, confirm)})
    welcomes = {m.message["Subject"]: m.message for m in mailbox.wait_for(EMAIL, count=3)[1:]}
    science = welcomes["Welcome to Science weekly"]

    assert mail_client_post(client, header_path(science), "urlencoded").status_code == 200
    assert statuses(db, EMAIL) == {"world-news": "confirmed", "science": "unsubscribed"}


@pytest.mark.parametrize("forged", ["é" * 43, "\u2603"])
def test_a_non_ascii_csrf_token_is_refused_cleanly_not_with_a_crash(client, db, world_news, mailbox, forged):
    _, welcome = confirmed_reader(client, mailbox, EMAIL)
    csrf_from(client, "/subscribe")  # the browser holds a genuine cookie; the form field is forged
    refused = client.post("/subscribe", data={"csrf_token": forged, "email": "other@example.com", "list": "world-news"})
    assert refused.status_code == 403 and "Please reload the form" in refused.text
    answer = client.post(header_path(welcome), data={"List-Unsubscribe": "One-Click", "csrf_token": forged})
    assert answer.status_code == 200
    assert unsubscribe_events(db, EMAIL) == [("world-news", "one-click")]
