"""The preferences page a reader reaches from the link in every email: no login, the link is the key."""

from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from service.core.tokens import Purpose, make_token
from service.lists.rules import create_list
from service.mail import links
from service.models import Subscriber, as_utc, utcnow
from tests.support.web import confirmed_reader, csrf_from, link_path, statuses

EMAIL = "prefs@example.com"


@pytest.fixture
def preferences(client, db, world_news, mailbox) -> str:
    """The path of the preferences link in a confirmed reader's welcome email."""
    create_list(db, slug="science", name="Science weekly", timezone="UTC")
    _, welcome = confirmed_reader(client, mailbox, EMAIL, name="Ada Reader")
    return link_path(welcome, "preferences")


def save(
    client, path: str, *, name="Ada Reader", timezone="Europe/London", lists=("world-news",), pause="", action="save"
):
    """Submit the preferences form as the browser would, with this page's CSRF token."""
    form = {
        "csrf_token": csrf_from(client, path),
        "name": name,
        "timezone": timezone,
        "list": list(lists),
        "pause": pause,
        "action": action,
    }
    return client.post(path, data=form, follow_redirects=False)


def reader(db) -> Subscriber:
    """The reader as stored right now."""
    db.expire_all()
    found = db.scalar(select(Subscriber).where(Subscriber.email == EMAIL))
    db.commit()
    return found


def assert_saved(client, answer, path: str) -> str:
    """Saving redirects back to the page, which says so; returns that page."""
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{path}?saved=1"
    page = client.get(answer.headers["location"])
    assert page.status_code == 200 and "Your preferences are saved" in page.text
    return page.text


def test_the_page_shows_what_the_reader_chose(client, preferences):
    page = client.get(preferences)
    assert page.status_code == 200
    assert EMAIL in page.text and 'value="Ada Reader"' in page.text
    assert "<option selected>Europe/London</option>" in page.text
    assert 'value="world-news" checked' in page.text and 'value="science" checked' not in page.text


def test_change_name_and_time_zone(client, db, preferences):
    saved = save(client, preferences, name="Ada Lovelace", timezone="America/New_York")
    page = assert_saved(client, saved, preferences)
    assert 'value="Ada Lovelace"' in page and "<option selected>America/New_York</option>" in page
    assert (reader(db).name, reader(db).timezone) == ("Ada Lovelace", "America/New_York")
    assert statuses(db, EMAIL) == {"world-news": "confirmed"}


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("timezone", "Mars/Olympus_Mons", "Unknown time zone"),
        ("timezone", "../../etc/passwd", "Unknown time zone"),
        ("name", "Ada\r\nBcc: someone@example.com", "line breaks"),
    ],
)
def test_bad_values_are_refused_clearly_and_change_nothing(client, db, preferences, field, value, words):
    fields = {"name": "Changed Name", "timezone": "Asia/Tokyo", "lists": ("science",), "pause": "4w", field: value}
    answer = save(client, preferences, **fields)
    assert answer.status_code == 422 and words in answer.text
    assert "Please check your input" in answer.text
    assert (reader(db).name, reader(db).timezone, reader(db).paused_until) == ("Ada Reader", "Europe/London", None)
    assert statuses(db, EMAIL) == {"world-news": "confirmed"}, "nothing of a refused form is kept"


def test_join_and_leave_lists(client, db, mailbox, preferences):
    assert_saved(client, save(client, preferences, lists=("world-news", "science")), preferences)
    assert statuses(db, EMAIL) == {"world-news": "confirmed", "science": "confirmed"}, (
        "the link already proves the inbox"
    )
    assert 'value="science" checked' in client.get(preferences).text

    page = assert_saved(client, save(client, preferences, lists=("science",)), preferences)
    assert statuses(db, EMAIL) == {"world-news": "unsubscribed", "science": "confirmed"}
    assert 'value="world-news" checked' not in page and 'value="science" checked' in page

    assert_saved(client, save(client, preferences, lists=()), preferences)
    assert statuses(db, EMAIL) == {"world-news": "unsubscribed", "science": "unsubscribed"}
    assert len(mailbox.messages_to(EMAIL)) == 2, "changing lists sends no confirmation email"


def paused_for(db) -> timedelta | None:
    """How long from now the reader's emails are paused."""
    until = reader(db).paused_until
    return None if until is None else as_utc(until) - utcnow()


@pytest.mark.parametrize("choice, days", [("1w", 7), ("4w", 28)])
def test_pause_for_a_while_then_resume(client, db, preferences, choice, days):
    page = assert_saved(client, save(client, preferences, pause=choice), preferences)
    assert abs(paused_for(db) - timedelta(days=days)) < timedelta(minutes=5)
    moment = as_utc(reader(db).paused_until)
    until = f"{moment.day} {moment:%B %Y}"
    assert f"Your emails are paused until {until}" in page
    assert '<option value="keep" selected>Stay paused as now</option>' in page

    page = assert_saved(client, save(client, preferences, name="Renamed", pause="keep"), preferences)
    assert reader(db).name == "Renamed" and "paused until" in page, "saving other changes keeps the pause"

    page = assert_saved(client, save(client, preferences, pause=""), preferences)
    assert reader(db).paused_until is None and "paused until" not in page
    assert statuses(db, EMAIL) == {"world-news": "confirmed"}, "a pause is not an unsubscribe"


def test_pause_until_the_reader_resumes(client, db, preferences):
    page = assert_saved(client, save(client, preferences, pause="forever"), preferences)
    assert "Your emails are paused until you resume them" in page
    assert paused_for(db) > timedelta(days=365 * 1000)
    assert_saved(client, save(client, preferences, pause=""), preferences)
    assert reader(db).paused_until is None


def test_unknown_pause_choice_is_refused(client, db, preferences):
    answer = save(client, preferences, pause="1y")
    assert answer.status_code == 422 and "Unknown pause choice" in answer.text
    assert reader(db).paused_until is None


def test_unsubscribe_from_everything(client, db, mailbox, preferences):
    assert_saved(client, save(client, preferences, lists=("world-news", "science")), preferences)
    answer = save(client, preferences, lists=("world-news", "science"), action="unsubscribe_all")
    assert answer.status_code == 200 and "You are unsubscribed" in answer.text
    assert statuses(db, EMAIL) == {"world-news": "unsubscribed", "science": "unsubscribed"}
    page = client.get(preferences)
    assert page.status_code == 200 and " checked" not in page.text, "the page still opens, with nothing ticked"
    mailbox.assert_nothing_for("nobody@example.com")
    assert len(mailbox.messages_to(EMAIL)) == 2, "leaving sends no email"


# --- links that must not open the page ---------------------------------------------------------------------------


def assert_refused(client, path: str, status: int, words: str) -> None:
    """Neither the page nor the form opens for this link, and the answer is a page a person can read."""
    page = client.get(path)
    assert page.status_code == status and words in page.text and "Back to the subscribe page" in page.text
    form = {"csrf_token": csrf_from(client, "/subscribe"), "name": "Mallory", "action": "unsubscribe_all"}
    assert client.post(path, data=form).status_code == status


def test_tampered_link(client, db, preferences):
    token = preferences.rsplit("/", 1)[1]
    payload, signature = token.split(".", 1)
    for forged in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), f"{payload}x.{signature}", "a.b.c"):
        assert_refused(client, f"/preferences/{forged}", 400, "This link is not valid")
    assert (reader(db).name, statuses(db, EMAIL)) == ("Ada Reader", {"world-news": "confirmed"})


def test_link_made_for_another_purpose_or_with_another_key(client, db, settings, preferences):
    subscriber_id = reader(db).id
    for purpose in (Purpose.unsubscribe, Purpose.confirm):
        assert_refused(
            client,
            f"/preferences/{make_token(settings.secret_key, purpose, {'s': subscriber_id})}",
            400,
            "This link is not valid",
        )
    rotated = make_token("another-secret-key-0123456789", Purpose.preferences, {"s": subscriber_id})
    assert_refused(client, f"/preferences/{rotated}", 400, "This link is not valid")
    assert (reader(db).name, statuses(db, EMAIL)) == ("Ada Reader", {"world-news": "confirmed"})


def test_link_for_an_address_we_no_longer_hold(client, settings, preferences):
    gone = make_token(settings.secret_key, Purpose.preferences, {"s": 987654321})
    assert_refused(client, f"/preferences/{gone}", 400, "an address we no longer hold")


def test_a_preferences_link_from_an_old_email_still_works(client, db, settings, preferences, monkeypatch):
    with monkeypatch.context() as past:  # the link as the app made it two years ago: preferences links never expire
        real_clock = TimestampSigner.get_timestamp
        past.setattr(TimestampSigner, "get_timestamp", lambda signer: real_clock(signer) - 2 * 365 * 86400)
        old = links.preferences_url(settings, reader(db).id).replace(settings.base_url, "")
    assert old != preferences and client.get(old).status_code == 200
