"""Privacy and consent: the subscribe answer never reveals an address's history; nobody is mailed against their will."""

import re
import uuid

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.mail import suppressions
from service.models import Subscriber
from service.web.app import create_app
from tests.conftest import REDIS_URL, RUN_ID, wait_for_idle_worker
from tests.support.db import row_counts
from tests.support.web import confirmed_reader, csrf_from, link_path, statuses, subscribe_by_form

TOKEN = re.compile(r'(name="csrf_token" value=")[^"]+')


def unique(label: str) -> str:
    """An address no other test (or concurrent run sharing Redis) uses."""
    return f"{label}-{uuid.uuid4().hex[:10]}@example.com"


def form_answer(client, email: str) -> tuple[int, str, list[str]]:
    """What a person sees after pressing Subscribe: status, page (CSRF tokens blanked) and header names."""
    answer = subscribe_by_form(client, email, name="Someone Else", timezone="Asia/Tokyo")
    headers = sorted(name for name in answer.headers if name not in ("date", "content-length"))
    # check-your-inbox shows the address the person typed; everything else must be the same for every address
    return answer.status_code, TOKEN.sub(r"\1", answer.text).replace(email, "ADDRESS"), headers


def api_answer(client, email: str) -> tuple[int, dict]:
    """What a script sees after POST /api/subscriptions."""
    answer = client.post("/api/subscriptions", json={"email": email, "lists": ["world-news"], "name": "Someone Else"})
    return answer.status_code, answer.json()


def one_click(client, welcome) -> None:
    """Leave the list as a mail client would."""
    path = welcome["List-Unsubscribe"].split(",")[0].strip("<> ").replace("http://testserver", "")
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200


def assert_no_new_mail(mailbox, email: str, seen: int) -> None:
    """Once the worker is idle, nothing more reached the address."""
    mailbox.assert_nothing_for("nobody-" + email)
    assert len(mailbox.messages_to(email)) == seen, f"unexpected mail to {email}"


def test_the_answer_is_the_same_whatever_the_address_has_done_before(client, db, world_news, mailbox):
    new, unconfirmed, confirmed, unsubscribed, suppressed = (
        unique(label) for label in ("new", "unconfirmed", "confirmed", "unsubscribed", "suppressed")
    )
    subscribe_by_form(client, unconfirmed)
    mailbox.wait_for(unconfirmed)
    confirmed_reader(client, mailbox, confirmed)
    one_click(client, confirmed_reader(client, mailbox, unsubscribed)[1])
    suppressions.suppress(db, suppressed, "hard bounce")
    db.commit()

    addresses = (new, unconfirmed, confirmed, unsubscribed, suppressed)
    form_answers = {email: form_answer(client, email) for email in addresses}
    assert form_answers[new][0] == 200 and "Check your inbox" in form_answers[new][1]
    assert all(answer == form_answers[new] for answer in form_answers.values()), "the form must not reveal membership"

    api_answers = {email: api_answer(client, email) for email in addresses}
    assert api_answers[new][0] == 202
    assert all(answer == api_answers[new] for answer in api_answers.values()), "the API must not reveal membership"


def test_a_confirmed_reader_gets_no_second_confirmation_and_keeps_their_profile(client, db, world_news, mailbox):
    email = unique("confirmed")
    confirmed_reader(client, mailbox, email, name="Ada Reader")
    assert form_answer(client, email)[0] == 200
    assert api_answer(client, email)[0] == 202
    assert_no_new_mail(mailbox, email, seen=2)
    assert statuses(db, email) == {"world-news": "confirmed"}
    reader = db.scalar(select(Subscriber).where(Subscriber.email == email))
    assert (reader.name, reader.timezone) == ("Ada Reader", "Europe/London"), "a stranger may not rename a reader"


def test_an_unsubscribed_reader_who_comes_back_must_confirm_again(client, db, world_news, mailbox):
    email = unique("returning")
    first_confirmation, welcome = confirmed_reader(client, mailbox, email)
    one_click(client, welcome)
    old_link = link_path(first_confirmation, "confirm")
    stale = client.post(old_link, data={"csrf_token": csrf_from(client, old_link)})
    assert stale.status_code == 422, "an old confirmation link must not undo a later unsubscribe"
    assert statuses(db, email) == {"world-news": "unsubscribed"}

    assert subscribe_by_form(client, email).status_code == 200
    again = mailbox.wait_for(email, count=3)[2].message
    assert again["Subject"] == "Please confirm your subscription to World News daily"
    assert statuses(db, email) == {"world-news": "unconfirmed"}, "no mail until they confirm again"

    confirm = link_path(again, "confirm")
    assert client.post(confirm, data={"csrf_token": csrf_from(client, confirm)}).status_code == 200
    assert statuses(db, email) == {"world-news": "confirmed"}
    assert mailbox.wait_for(email, count=4)[3].message["Subject"] == "Welcome to World News daily"


def test_a_suppressed_address_is_never_mailed_nor_stored(client, db, world_news, mailbox):
    email = unique("bounced")
    suppressions.suppress(db, email, "hard bounce")
    db.commit()
    before = row_counts(db)
    assert subscribe_by_form(client, email.upper()).status_code == 200  # any spelling of the address
    assert api_answer(client, f"  {email}  ")[0] == 202
    mailbox.assert_nothing_for(email)
    assert row_counts(db) == before, "a suppressed address leaves no trace"


def test_an_address_suppressed_before_it_confirms_gets_no_welcome(client, db, world_news, mailbox):
    email = unique("complained")
    subscribe_by_form(client, email)
    confirm = link_path(mailbox.wait_for(email)[0].message, "confirm")
    suppressions.suppress(db, email, "spam complaint")
    db.commit()
    assert client.post(confirm, data={"csrf_token": csrf_from(client, confirm)}).status_code == 200
    assert_no_new_mail(mailbox, email, seen=1)


# --- rate limits -------------------------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def limited(request, settings, celery_worker, db, world_news, mailbox):
    """Clients (one IP each) of the app with low limits; with Redis, two app processes share the counters."""
    run = uuid.uuid4().hex[:12]
    storage = {"memory": "memory://", "redis": REDIS_URL}[request.param]
    strict = settings.model_copy(
        update={
            "rate_limit_storage_url": storage,
            "subscribe_limit_per_ip": "3/hour",
            "subscribe_limit_per_address": "2/day",
        }
    )
    apps = [create_app(strict)] if request.param == "memory" else [create_app(strict), create_app(strict)]
    prefix = f"2001:db8:{run[:4]}"  # documentation range, unique to this test; each host is a /64 of its own
    made: list[TestClient] = []

    class Limited:
        """What a test needs: addresses and browsers unique to it."""

        @staticmethod
        def address(label: str) -> str:
            """An address unique to this test."""
            return f"{label}-{run}@example.com"

        @staticmethod
        def browser(host: int, device: int = 1) -> TestClient:
            """A browser at its own IP (a device of a host's /64), served by the next app process in turn."""
            made.append(
                TestClient(apps[len(made) % len(apps)], client=(f"{prefix}:{host:x}::{device:x}", 40000 + host))
            )
            return made[-1]

    yield Limited
    for browser in made:
        browser.close()
    if request.param == "redis":
        store = redis.Redis.from_url(REDIS_URL)
        for pattern in (f"*{run}*", f"*{prefix}:*"):
            for key in store.scan_iter(match=pattern):
                store.delete(key)


def assert_slow_down(answer, reason: str) -> None:
    """A 429 page saying, in words, what is wrong."""
    assert answer.status_code == 429, answer.text
    assert "Slow down" in answer.text and reason in answer.text
    assert int(answer.headers["Retry-After"]) > 0, "a client is told when it may try again"


def test_too_many_subscribes_from_one_ip_are_refused_and_send_nothing(limited, db, mailbox):
    browser = limited.browser(1)
    allowed = [limited.address(f"ip{i}") for i in range(3)]
    for email in allowed:
        assert subscribe_by_form(browser, email).status_code == 200
    refused = limited.address("ip-over")
    assert_slow_down(subscribe_by_form(browser, refused), "Too many subscribe requests from your network")
    api = browser.post("/api/subscriptions", json={"email": refused, "lists": ["world-news"]})
    assert api.status_code == 429 and api.json()["error"] == "rate_limited"
    assert "Too many subscribe requests" in api.json()["detail"]

    for email in allowed:
        mailbox.wait_for(email)
    mailbox.assert_nothing_for(refused)
    assert statuses(db, refused) == {}, "a refused request stores nothing"
    neighbour = limited.browser(2)  # another network is not held back
    assert subscribe_by_form(neighbour, limited.address("neighbour")).status_code == 200


@pytest.mark.sqlite_twin  # issue 20: storage on both databases
def test_an_ipv6_64_is_one_client_for_the_subscribe_limit(limited, db, mailbox):
    home = [limited.browser(7, device) for device in (1, 0x2, 0xBEEF, 0xFFFF)]  # four addresses of one /64
    for number, browser in enumerate(home[:3]):
        assert subscribe_by_form(browser, limited.address(f"home{number}")).status_code == 200
    assert_slow_down(subscribe_by_form(home[3], limited.address("home3")), "Too many subscribe requests")
    mailbox.assert_nothing_for(limited.address("home3"))
    assert subscribe_by_form(limited.browser(8), limited.address("next-64")).status_code == 200, (
        "the next /64 is another client"
    )


def test_one_mailbox_gets_at_most_its_daily_confirmations_whatever_the_spelling(limited, db, mailbox, settings):
    per_day = int(settings.subscribe_limit_per_address.split("/")[0])
    user, domain = limited.address("target").split("@")
    spellings = [f"{user}@{domain}", f"{user.upper()}@{domain}"] + [f"{user}+{n}@{domain}" for n in range(per_day + 2)]
    for host, email in enumerate(spellings, start=1):  # every request from another network, as a botnet would
        answer = subscribe_by_form(limited.browser(host), email)
        assert answer.status_code == 200, "the requester learns nothing: the same answer every time"
    mailbox.settle()
    received = {id(message): message for email in spellings for message in mailbox.messages_to(email)}
    seen = [(m.rcpt_tos, m.message["Subject"]) for m in received.values()]
    assert len(received) == per_day, (
        f"{len(received)} confirmation emails reached one inbox; the limit is {per_day} a day: {seen}"
    )


@pytest.mark.sqlite_twin  # issue 20: storage on both databases
def test_googlemail_and_gmail_are_one_mailbox_for_the_daily_limit(limited, db, mailbox, settings):
    per_day = int(settings.subscribe_limit_per_address.split("/")[0])
    user = limited.address("first.last").split("@")[0].replace("-", ".")
    spellings = [
        f"{user}@gmail.com",
        f"{user.replace('.', '')}@googlemail.com",
        f"{user.upper()}+news@GoogleMail.com",
        f"{user}+daily@googlemail.com",
    ]
    for host, email in enumerate(spellings, start=1):
        assert subscribe_by_form(limited.browser(host), email).status_code == 200
    mailbox.wait_for(spellings[0])
    wait_for_idle_worker(f"test-{RUN_ID}")
    received = {id(message) for email in spellings for message in mailbox.messages_to(email)}
    assert len(received) == per_day, f"{len(received)} confirmations reached one Gmail inbox; the limit is {per_day}"


@pytest.mark.parametrize("limited", ["redis"], indirect=True)  # in-memory counters are per process by design
def test_redis_counters_are_shared_by_every_web_process(limited):
    first, second, third, fourth = (limited.browser(1) for _ in range(4))  # one network, served by app 1, 2, 1, 2
    assert first.app is not second.app and first.app is third.app
    for number, browser in enumerate((first, second, third)):
        assert subscribe_by_form(browser, limited.address(f"shared{number}")).status_code == 200
    assert subscribe_by_form(fourth, limited.address("shared3")).status_code == 429
