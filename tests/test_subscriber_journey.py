"""The reader's whole journey through the real worker and real SMTP: subscribe, confirm, unsubscribe."""

from tests.support.web import csrf_from, link_path, statuses, subscribe_by_form, text_part


def test_subscribe_sends_confirmation_and_stores_unconfirmed(client, db, world_news, mailbox):
    answer = subscribe_by_form(client, "Reader@Example.com", name="Ada Reader")
    assert answer.status_code == 200
    assert "Check your inbox" in answer.text
    [received] = mailbox.wait_for("reader@example.com")
    message = received.message
    assert message["Subject"] == "Please confirm your subscription to World News daily"
    assert message["To"] == "Ada Reader <reader@example.com>"
    assert message["Message-ID"] and message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert "/confirm/" in text_part(message)
    assert statuses(db, "reader@example.com") == {"world-news": "unconfirmed"}


def test_confirm_link_get_does_not_confirm_but_post_does(client, db, world_news, mailbox):
    subscribe_by_form(client, "reader@example.com")
    [received] = mailbox.wait_for("reader@example.com")
    confirm = link_path(received.message, "confirm")

    page = client.get(confirm)
    assert page.status_code == 200 and "Confirm my subscription" in page.text
    assert statuses(db, "reader@example.com") == {"world-news": "unconfirmed"}

    done = client.post(confirm, data={"csrf_token": csrf_from(client, confirm)})
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert statuses(db, "reader@example.com") == {"world-news": "confirmed"}

    welcome = mailbox.wait_for("reader@example.com", count=2)[1].message
    assert welcome["Subject"] == "Welcome to World News daily"
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert welcome["List-Unsubscribe"].startswith("<http://testserver/unsubscribe/")
    assert welcome["List-Id"] == "World News daily <world-news.news.example.org>"

    again = client.post(confirm, data={"csrf_token": csrf_from(client, confirm)})
    assert "already subscribed" in again.text
    mailbox.assert_nothing_for("nobody@example.com")
    assert len(mailbox.messages_to("reader@example.com")) == 2, "confirming twice must not send a second welcome"


def _confirmed_reader(client, mailbox, email="reader@example.com"):
    """Subscribe and confirm; return the welcome email."""
    subscribe_by_form(client, email)
    confirm = link_path(mailbox.wait_for(email)[0].message, "confirm")
    client.post(confirm, data={"csrf_token": csrf_from(client, confirm)})
    return mailbox.wait_for(email, count=2)[1].message


def test_one_click_unsubscribe_rfc8058(client, db, world_news, mailbox):
    welcome = _confirmed_reader(client, mailbox)
    url = welcome["List-Unsubscribe"].split(",")[0].strip("<> ")
    path = url.replace("http://testserver", "")

    assert client.get(path).status_code == 200
    assert statuses(db, "reader@example.com") == {"world-news": "confirmed"}, "a GET must never unsubscribe"

    client.cookies.clear()
    for _ in range(2):  # idempotent, no cookie, no redirect
        answer = client.post(
            path,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert answer.status_code == 200
        assert statuses(db, "reader@example.com") == {"world-news": "unsubscribed"}


def test_one_click_unsubscribe_accepts_multipart(client, db, world_news, mailbox):
    welcome = _confirmed_reader(client, mailbox)
    path = welcome["List-Unsubscribe"].split(",")[0].strip("<> ").replace("http://testserver", "")
    answer = client.post(path, files={"List-Unsubscribe": (None, "One-Click")}, follow_redirects=False)
    assert answer.status_code == 200
    assert statuses(db, "reader@example.com") == {"world-news": "unsubscribed"}


def test_unsubscribe_post_without_one_click_body_is_refused(client, db, world_news, mailbox):
    welcome = _confirmed_reader(client, mailbox)
    path = welcome["List-Unsubscribe"].split(",")[0].strip("<> ").replace("http://testserver", "")
    assert client.post(path, data={"something": "else"}).status_code == 422
    assert statuses(db, "reader@example.com") == {"world-news": "confirmed"}


def test_json_api_twin(client, db, world_news, mailbox):
    answer = client.post(
        "/api/subscriptions",
        json={"email": "api@example.com", "lists": ["world-news"], "name": "Api", "timezone": "Asia/Kathmandu"},
    )
    assert answer.status_code == 202
    mailbox.wait_for("api@example.com")
    assert statuses(db, "api@example.com") == {"world-news": "unconfirmed"}


def test_healthz(client):
    assert client.get("/healthz").status_code == 200
