"""CAN-SPAM and provider rules: a real postal address, a visible unsubscribe link in both parts, leaving at once."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from service import tasks
from service.bounce_intake.process import apply as apply_verdict
from service.bounces.policy import classify_complaint
from service.core.config import EXAMPLE_POSTAL_ADDRESS, load_settings
from service.core.db import engine_for
from service.delivery import actions
from service.mail.links import unsubscribe_url
from service.models import Delivery, DeliveryStatus, Subscriber, utcnow
from service.ops.startup import problems
from tests.support.edition_stories import day_of_stories
from tests.support.readers import add_readers, wait_until_complete
from tests.support.web import confirmed_reader, html_part, text_part
from tests.test_startup import BIN, assert_one_line_per_problem, clean_env, run

PRODUCTION = {"ENVIRONMENT": "production", "SECRET_KEY": "a-real-secret-key-0123456789abcdefghij"}
SENDERS = {
    "web": [str(BIN / "newsletter"), "web"],
    "worker": [str(BIN / "celery"), "-A", "worker", "worker"],
    "beat": [str(BIN / "celery"), "-A", "worker", "beat"],
    "editions send": [str(BIN / "newsletter"), "editions", "send", "--list", "world-news"],
    "editions send-test": [
        str(BIN / "newsletter"),
        "editions",
        "send-test",
        "--list",
        "world-news",
        "--to",
        "me@example.org",
    ],
}


@pytest.mark.processes
@pytest.mark.parametrize("address", [None, "   ", EXAMPLE_POSTAL_ADDRESS], ids=["unset", "blank", "the-example"])
@pytest.mark.parametrize("command", list(SENDERS))
def test_outside_development_nothing_that_sends_starts_without_a_real_postal_address(tmp_path, command, address):
    env = clean_env(tmp_path, **PRODUCTION, **({"POSTAL_ADDRESS": address} if address is not None else {}))
    result = run(SENDERS[command], env)
    assert_one_line_per_problem(result, "POSTAL_ADDRESS")
    assert "POSTAL_ADDRESS" in result.stderr.strip().splitlines()[0]


def test_development_keeps_working_on_the_example_address_and_production_on_its_own(tmp_path):
    development = load_settings(_env_file=None, environment="development", data_dir=tmp_path, postal_address="")
    assert development.postal_address == EXAMPLE_POSTAL_ADDRESS and development.postal_problem is None
    production = load_settings(
        _env_file=None,
        environment="production",
        secret_key=PRODUCTION["SECRET_KEY"],
        data_dir=tmp_path,
        postal_address=" World News Ltd, 5 Fleet Street, London ",
    )
    assert production.postal_address == "World News Ltd, 5 Fleet Street, London"
    assert problems(production, database=False) == []
    unset = load_settings(
        _env_file=None,
        environment="production",
        secret_key=PRODUCTION["SECRET_KEY"],
        data_dir=tmp_path,
        postal_address="",
    )
    [problem] = problems(unset, database=False)
    assert problem.startswith("POSTAL_ADDRESS: must be set outside development")


def links_in(message) -> tuple[list[str], list[str]]:
    """The unsubscribe URLs of the text part and the visible <a href> ones of the HTML part."""
    text = re.findall(r"https?://\S+/unsubscribe/\S+", text_part(message))
    visible = r'<a [^>]*href="([^"]+/unsubscribe/[^"]+)"[^>]*>\s*Unsubscribe\s*</a>'
    html = [unescape(href) for href in re.findall(visible, html_part(message))]
    return text, html


def assert_visible_working_unsubscribe(client, message, postal_address: str) -> None:
    """Both parts show the same unsubscribe link and the sender's postal address; the link opens the page."""
    text, html = links_in(message)
    assert text and html, "a visible unsubscribe link in the text part and in the HTML part"
    assert set(text) == set(html), (text, html)
    assert postal_address in text_part(message) and postal_address in unescape(html_part(message))
    page = client.get(urlsplit(text[0]).path)
    assert page.status_code == 200 and "Press the button" in page.text


def test_every_welcome_and_edition_email_shows_a_working_unsubscribe_link_in_both_parts(
    client, db, settings, world_news, mailbox
):
    _, welcome = confirmed_reader(client, mailbox, "reader@example.com")
    assert_visible_working_unsubscribe(client, welcome, settings.postal_address)

    day_of_stories(db, 3)
    started = actions.send_now(db, settings, world_news, utcnow().date(), tasks.start_drains)
    assert started is not None and started.planned == 1
    wait_until_complete(engine_for(settings.effective_database_url), started.edition.id)
    [edition] = [
        m.message
        for m in mailbox.messages_to("reader@example.com")
        if m.message["Subject"].startswith(f"{world_news.name}: ")
    ]
    assert_visible_working_unsubscribe(client, edition, settings.postal_address)
    header = edition["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert header in links_in(edition)[0], "the visible link is the one List-Unsubscribe names"


def test_an_unsubscribe_or_complaint_during_an_edition_stops_it_before_the_next_send(
    client, db, settings, world_news, mailbox
):
    engine = engine_for(settings.effective_database_url)
    leaver, complainer, *stayers = add_readers(engine, world_news.id, 5, prefix="midway")
    day_of_stories(db, 2)
    started = actions.send_now(db, settings, world_news, utcnow().date(), lambda edition_id, count: None)
    assert started is not None and started.planned == 5, "every reader is planned before anyone leaves"
    edition_id = started.edition.id
    actions.pause(settings, edition_id)

    ids = {email: reader_id for email, reader_id in db.execute(select(Subscriber.email, Subscriber.id))}
    db.commit()
    one_click = urlsplit(unsubscribe_url(settings, ids[leaver], world_news.id)).path
    client.cookies.clear()
    left = client.post(
        one_click, content=b"List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert left.status_code == 200, left.text
    apply_verdict(db, settings, classify_complaint("abuse"), email=complainer, subscriber_id=ids[complainer])
    db.commit()

    actions.resume(settings, edition_id, tasks.start_drains)
    wait_until_complete(engine, edition_id)
    for reader in stayers:
        assert len(mailbox.wait_for(reader)) == 1
    mailbox.assert_nothing_for(leaver)
    mailbox.assert_nothing_for(complainer)
    db.expire_all()
    rows = {
        email: (status, error)
        for email, status, error in db.execute(
            select(Subscriber.email, Delivery.status, Delivery.last_error)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.edition_id == edition_id)
        )
    }
    assert rows[leaver] == (DeliveryStatus.skipped, "no longer subscribed")
    assert rows[complainer][0] == DeliveryStatus.skipped
    assert {rows[reader][0] for reader in stayers} == {DeliveryStatus.sent}
    db.commit()
