"""Bad input gets a clear 4xx (a page for people, JSON under /api) and leaves nothing half-stored."""

from html import escape

import pytest
from itsdangerous import TimestampSigner

from service.mail import links
from service.models import Subscriber
from tests.support.db import row_counts
from tests.support.web import (
    confirmed_reader,
    csrf_from,
    html_part,
    link_path,
    statuses,
    subscribe_by_form,
    text_part,
)

NOTHING_STORED = {"subscribers": 0, "subscriptions": 0, "consent_events": 0, "suppressions": 0}
SCRIPT = "<script>alert(1)</script>"


def stored(db) -> dict[str, int]:
    """Row counts of everything a subscribe request could write (the list itself is set up by the test)."""
    counts = row_counts(db)
    return {name: counts[name] for name in NOTHING_STORED}


def assert_page(answer, status: int, *words: str) -> None:
    """A human-readable HTML error page with this status, saying these words."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "Back to the subscribe page" in answer.text
    for word in words:
        assert word in answer.text


def assert_form(answer, field: str, typed: str, *words: str) -> None:
    """The subscribe form again (422), the message under the field that is wrong, and what was typed still there."""
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert f'id="{field}-error"' in answer.text
    if field != "list":  # with one list there is no checkbox to mark, only the message
        assert 'aria-invalid="true"' in answer.text
    assert f'value="{escape(typed)}"' in answer.text, "the typed address is kept"
    for word in words:
        assert word in answer.text


def assert_json_error(answer, status: int, code: str) -> None:
    """A JSON error body with a stable code and a sentence for the developer."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["error"] == code
    assert answer.json()["detail"]


def api_subscribe(client, **overrides):
    """POST /api/subscriptions with a valid body, changed by overrides."""
    body = {"email": "api@example.com", "lists": ["world-news"], "name": "Api", "timezone": "Europe/Paris"}
    return client.post("/api/subscriptions", json={**body, **overrides})


# --- the subscribe form and its API twin ------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["not-an-address", "reader@", "reader@example.com\r\nBcc: x@example.com", ""])
def test_invalid_address_on_the_form(client, db, world_news, address):
    assert_form(subscribe_by_form(client, address), "email", address, "email address")
    assert stored(db) == NOTHING_STORED


def test_invalid_address_on_the_api(client, db, world_news):
    assert_json_error(api_subscribe(client, email="reader@@example.com"), 422, "invalid_address")
    assert stored(db) == NOTHING_STORED


def test_unknown_list(client, db, world_news, mailbox):
    assert_form(
        subscribe_by_form(client, "reader@example.com", lists=["no-such-list"]),
        "list",
        "reader@example.com",
        "no-such-list",
    )
    assert_json_error(api_subscribe(client, lists=["no-such-list"]), 404, "unknown_list")
    assert stored(db) == NOTHING_STORED


def test_one_unknown_list_among_good_ones_stores_nothing(client, db, world_news, mailbox):
    answer = subscribe_by_form(client, "reader@example.com", lists=["world-news", "no-such-list"])
    assert_form(answer, "list", "reader@example.com", "no-such-list")
    assert stored(db) == NOTHING_STORED
    mailbox.assert_nothing_for("reader@example.com")


def test_no_list_chosen(client, db, world_news):
    assert_form(
        subscribe_by_form(client, "reader@example.com", lists=[]),
        "list",
        "reader@example.com",
        "choose at least one list",
    )
    answer = api_subscribe(client, lists=[])
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("application/json")
    assert stored(db) == NOTHING_STORED


@pytest.mark.parametrize("name", ["Ada\r\nBcc: victim@example.com", "Ada\nLovelace", "Ada\rLovelace", "Ada\x00"])
def test_line_breaks_in_the_name(client, db, world_news, mailbox, name):
    assert_form(subscribe_by_form(client, "reader@example.com", name=name), "name", "reader@example.com", "line breaks")
    assert_json_error(api_subscribe(client, name=name), 422, "invalid_input")
    assert stored(db) == NOTHING_STORED
    mailbox.assert_nothing_for("reader@example.com")


def test_unknown_time_zone(client, db, world_news, mailbox):
    # the API refuses it; on the form the zone comes from the browser's script, and one our zone database lacks
    # falls back to the list's zone (the reader can change it in preferences) rather than failing the form
    assert_json_error(api_subscribe(client, timezone="Mars/Olympus_Mons"), 422, "invalid_input")
    assert stored(db) == NOTHING_STORED
    answer = subscribe_by_form(client, "reader@example.com", timezone="Mars/Olympus_Mons")
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    mailbox.wait_for("reader@example.com")
    db.expire_all()
    assert db.query(Subscriber).one().timezone == world_news.timezone


# --- links -------------------------------------------------------------------------------------------------------


def test_tampered_confirm_link(client, db, world_news, mailbox):
    subscribe_by_form(client, "reader@example.com")
    confirm = link_path(mailbox.wait_for("reader@example.com")[0].message, "confirm")
    token = confirm.rsplit("/", 1)[1]
    tampered = f"/confirm/{token[:-3]}{'xyz' if not token.endswith('xyz') else 'abc'}"

    assert_page(client.get(tampered), 400, "This link is not valid")
    csrf = csrf_from(client, "/subscribe")
    assert_page(client.post(tampered, data={"csrf_token": csrf}), 400, "This link is not valid")
    assert statuses(db, "reader@example.com") == {"world-news": "unconfirmed"}


def test_expired_confirm_link(client, db, world_news, mailbox, settings, monkeypatch):
    subscribe_by_form(client, "reader@example.com")
    mailbox.wait_for("reader@example.com")
    reader = db.query(Subscriber).filter_by(email="reader@example.com").one()
    eight_days = 8 * 24 * 3600
    assert settings.confirm_token_max_age < eight_days
    with monkeypatch.context() as past:  # the same link, as the app would have made it eight days ago
        real_clock = TimestampSigner.get_timestamp
        past.setattr(TimestampSigner, "get_timestamp", lambda signer: real_clock(signer) - eight_days)
        old_link = links.confirm_url(settings, reader.id, [world_news.id]).replace(settings.base_url, "")

    assert_page(client.get(old_link), 410, "This link has expired")
    csrf = csrf_from(client, "/subscribe")
    assert_page(client.post(old_link, data={"csrf_token": csrf}), 410, "This link has expired")
    assert statuses(db, "reader@example.com") == {"world-news": "unconfirmed"}
    mailbox.settle()  # the worker is idle: a welcome it should not send would be here by now
    assert len(mailbox.messages_to("reader@example.com")) == 1, "an expired link must not send a welcome"


def test_links_only_open_their_own_door(client, db, world_news, mailbox):
    confirmation, welcome = confirmed_reader(client, mailbox, "reader@example.com")
    confirm = link_path(confirmation, "confirm")
    unsubscribe = link_path(welcome, "unsubscribe")
    preferences = link_path(welcome, "preferences")
    confirm_token = confirm.rsplit("/", 1)[1]
    unsubscribe_token = unsubscribe.rsplit("/", 1)[1]
    preferences_token = preferences.rsplit("/", 1)[1]
    csrf = csrf_from(client, "/subscribe")
    one_click = {"List-Unsubscribe": "One-Click"}

    # A confirmation link cannot unsubscribe anyone.
    assert_page(client.get(f"/unsubscribe/{confirm_token}"), 400, "This link is not valid")
    assert_page(client.post(f"/unsubscribe/{confirm_token}", data=one_click), 400, "This link is not valid")
    # An unsubscribe link cannot confirm, nor open the preferences.
    assert_page(client.get(f"/confirm/{unsubscribe_token}"), 400, "This link is not valid")
    assert_page(client.post(f"/confirm/{unsubscribe_token}", data={"csrf_token": csrf}), 400, "This link is not valid")
    assert_page(client.get(f"/preferences/{unsubscribe_token}"), 400, "This link is not valid")
    assert_page(
        client.post(f"/preferences/{unsubscribe_token}", data={"csrf_token": csrf, "action": "unsubscribe_all"}),
        400,
        "This link is not valid",
    )
    # A preferences link is not an unsubscribe link, a confirmation link does not open the preferences.
    assert_page(client.post(f"/unsubscribe/{preferences_token}", data=one_click), 400, "This link is not valid")
    assert_page(client.get(f"/preferences/{confirm_token}"), 400, "This link is not valid")

    assert statuses(db, "reader@example.com") == {"world-news": "confirmed"}
    assert client.get(preferences).status_code == 200, "the right link still works"


# --- request hygiene ---------------------------------------------------------------------------------------------


def oversized_form(client) -> dict[str, str]:
    """A subscribe form that would be accepted, were it not for 80 KB of padding."""
    return {
        "csrf_token": csrf_from(client, "/subscribe"),
        "email": "big@example.com",
        "list": "world-news",
        "timezone": "UTC",
        "padding": "x" * 80_000,
    }


def test_oversized_body_with_content_length(client, db, world_news, mailbox, settings):
    assert settings.max_body_bytes < 80_000
    answer = client.post("/subscribe", data=oversized_form(client))
    assert "content-length" in answer.request.headers
    assert_page(answer, 413, "too large")

    body = {"email": "big@example.com", "lists": ["world-news"], "name": "x" * 80_000}
    assert_json_error(client.post("/api/subscriptions", json=body), 413, "body_too_large")
    assert stored(db) == NOTHING_STORED
    mailbox.assert_nothing_for("big@example.com")


def test_oversized_chunked_body(client, db, world_news, mailbox):
    form = oversized_form(client)
    encoded = "&".join(f"{key}={value}" for key, value in form.items()).encode()

    def chunks():
        """No Content-Length: the body arrives in pieces (Transfer-Encoding: chunked)."""
        for start in range(0, len(encoded), 8192):
            yield encoded[start : start + 8192]

    answer = client.post("/subscribe", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in answer.request.headers
    assert_page(answer, 413, "too large")

    json_body = b'{"email": "big@example.com", "lists": ["world-news"], "name": "' + b"x" * 80_000 + b'"}'
    answer = client.post("/api/subscriptions", content=iter([json_body]), headers={"Content-Type": "application/json"})
    assert "content-length" not in answer.request.headers
    assert_json_error(answer, 413, "body_too_large")
    assert stored(db) == NOTHING_STORED
    mailbox.assert_nothing_for("big@example.com")


def test_small_chunked_body_still_works(client, db, world_news, mailbox):
    form = {"csrf_token": csrf_from(client, "/subscribe"), "email": "small@example.com", "list": "world-news"}
    encoded = "&".join(f"{key}={value}" for key, value in form.items()).encode()
    answer = client.post(
        "/subscribe",
        content=iter([encoded[:20], encoded[20:]]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    mailbox.wait_for("small@example.com")


@pytest.mark.parametrize("token", [None, "", "wrong-token-wrong-token-wrong-token"])
def test_subscribe_form_without_the_right_csrf_token(client, db, world_news, mailbox, token):
    csrf_from(client, "/subscribe")  # the browser has the cookie, the post lacks the matching field
    form = {"email": "reader@example.com", "list": "world-news", "timezone": "UTC"}
    if token is not None:
        form["csrf_token"] = token
    assert_page(client.post("/subscribe", data=form), 403, "Please reload the form")
    assert stored(db) == NOTHING_STORED
    mailbox.assert_nothing_for("reader@example.com")


def test_csrf_token_without_its_cookie_is_refused(client, db, world_news, mailbox):
    token = csrf_from(client, "/subscribe")
    client.cookies.clear()  # a token lifted from the page, posted from elsewhere
    form = {"csrf_token": token, "email": "reader@example.com", "list": "world-news"}
    assert_page(client.post("/subscribe", data=form), 403, "Please reload the form")
    assert stored(db) == NOTHING_STORED


def test_confirm_and_preferences_posts_need_the_csrf_token(client, db, world_news, mailbox):
    subscribe_by_form(client, "reader@example.com")
    confirm = link_path(mailbox.wait_for("reader@example.com")[0].message, "confirm")
    assert_page(client.post(confirm, data={}), 403, "Please reload the form")
    assert statuses(db, "reader@example.com") == {"world-news": "unconfirmed"}

    client.post(confirm, data={"csrf_token": csrf_from(client, confirm)})
    preferences = link_path(mailbox.wait_for("reader@example.com", count=2)[1].message, "preferences")
    assert_page(client.post(preferences, data={"action": "unsubscribe_all"}), 403, "Please reload the form")
    assert statuses(db, "reader@example.com") == {"world-news": "confirmed"}


# --- escaping ----------------------------------------------------------------------------------------------------


def test_markup_in_a_name_is_never_rendered_raw(client, db, world_news, mailbox):
    confirmation, welcome = confirmed_reader(client, mailbox, "markup@example.com", name=SCRIPT)
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for message in (confirmation, welcome):
        assert SCRIPT not in html_part(message)
        assert escaped in html_part(message)
        assert SCRIPT in text_part(message), "plain text shows the name exactly as typed"

    preferences = client.get(link_path(welcome, "preferences"))
    assert preferences.status_code == 200
    assert SCRIPT not in preferences.text and escaped in preferences.text


def test_markup_in_error_messages_is_escaped(client, db, world_news):
    for answer in (subscribe_by_form(client, "reader@example.com", lists=[SCRIPT]), subscribe_by_form(client, SCRIPT)):
        assert 400 <= answer.status_code < 500
        assert SCRIPT not in answer.text
    assert client.get("/subscribe", params={"list": SCRIPT}).text.count("<script>") == 0
    assert stored(db) == NOTHING_STORED
    answer = subscribe_by_form(client, "reader@example.com", timezone=SCRIPT)  # a browser zone we lack: the list's
    assert answer.status_code == 200 and SCRIPT not in answer.text
