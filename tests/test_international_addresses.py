"""Internationalised addresses: IDNA domains everywhere, SMTPUTF8 when offered, and one reader never stalls a send."""

from __future__ import annotations

import logging
from collections import Counter

import pytest
from sqlalchemy import select

from service.core.addresses import mailbox_key, normalise_address
from service.core.db import engine_for
from service.delivery.schedule import send_now
from service.models import (
    Delivery,
    DeliveryStatus,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from service.tasks import start_drains
from tests.support.edition_stories import day_of_stories
from tests.support.readers import add_readers, wait_until_complete
from tests.support.web import subscribe_by_form

UTF8_LOCAL = "üser@example.com"
IDN_DOMAIN = "user@bücher.example"
IDN_ON_THE_WIRE = "user@xn--bcher-kva.example"


@pytest.fixture(params=[True, False], ids=["smtputf8", "no-smtputf8"])
def offered(request, mailbox) -> bool:
    """Run with a server that offers SMTPUTF8 and with one that does not (restored afterwards)."""
    mailbox.offer_smtputf8(request.param)
    yield request.param
    mailbox.offer_smtputf8(True)


def _confirmed(db, list_id: int, email: str, name: str = "") -> Subscriber:
    """A confirmed reader whose address the subscribe form accepted (stored in its normalised form)."""
    reader = Subscriber(email=normalise_address(email), name=name, timezone="UTC", created_at=utcnow())
    db.add(reader)
    db.flush()
    db.add(
        Subscription(
            subscriber_id=reader.id,
            list_id=list_id,
            status=SubscriptionStatus.confirmed,
            subscribed_at=utcnow(),
            confirmed_at=utcnow(),
            source="test",
            consent_text_version="test",
        )
    )
    db.commit()
    return reader


def _rows(db, edition_id: int) -> dict[str, Delivery]:
    """The edition's ledger rows by stored address."""
    db.expire_all()
    query = select(Subscriber.email, Delivery).join(Delivery, Delivery.subscriber_id == Subscriber.id)
    return {email: row for email, row in db.execute(query.where(Delivery.edition_id == edition_id))}


def test_international_readers_never_stall_an_edition(db, settings, world_news, celery_worker, mailbox, offered):
    engine = engine_for(settings.effective_database_url)
    before = add_readers(engine, world_news.id, 12, prefix="before")
    _confirmed(db, world_news.id, UTF8_LOCAL, name="Zoë")
    _confirmed(db, world_news.id, IDN_DOMAIN)
    after = add_readers(engine, world_news.id, 12, prefix="after")
    day_of_stories(db)
    edition, planned = send_now(settings, db, world_news, utcnow().date(), utcnow())
    assert planned == 26

    start_drains(edition.id, 1)
    wait_until_complete(engine, edition.id)

    got = Counter(rcpt for message in mailbox.received for rcpt in message.rcpt_tos)
    assert all(got[reader] == 1 for reader in before + after), "every ordinary reader got the edition once"
    [idn] = mailbox.messages_to(IDN_ON_THE_WIRE)
    assert idn.message["To"].addresses[0].addr_spec == IDN_ON_THE_WIRE
    rows = _rows(db, edition.id)
    assert rows[IDN_DOMAIN].status == DeliveryStatus.sent
    if offered:
        [utf8] = mailbox.messages_to(UTF8_LOCAL)
        assert utf8.message["To"].addresses[0].addr_spec == UTF8_LOCAL
        assert utf8.message["To"].addresses[0].display_name == "Zoë"
        assert rows[UTF8_LOCAL].status == DeliveryStatus.sent
    else:
        assert mailbox.messages_to(UTF8_LOCAL) == []
        row = rows[UTF8_LOCAL]
        assert (row.status, row.failure_kind) == (DeliveryStatus.failed, "unsupported_address")
        assert "SMTPUTF8" in row.last_error
    assert {r.status for e, r in rows.items() if e != UTF8_LOCAL} == {DeliveryStatus.sent}


def test_confirmation_reaches_international_addresses(client, db, world_news, mailbox, offered):
    for typed in (IDN_DOMAIN, UTF8_LOCAL, "later@example.com"):
        assert subscribe_by_form(client, typed).status_code == 200
    [idn] = mailbox.wait_for(IDN_ON_THE_WIRE)
    assert idn.message["To"].addresses[0].addr_spec == IDN_ON_THE_WIRE
    assert idn.message["Subject"].startswith("Please confirm")
    mailbox.wait_for("later@example.com")
    if offered:
        [utf8] = mailbox.wait_for(UTF8_LOCAL)
        assert utf8.message["To"].addresses[0].addr_spec == UTF8_LOCAL
    else:
        mailbox.assert_nothing_for(UTF8_LOCAL)


def test_confirmation_without_smtputf8_is_a_logged_permanent_failure(db, settings, world_news, mailbox, caplog):
    reader = Subscriber(email=UTF8_LOCAL, name="", timezone="UTC", created_at=utcnow())
    db.add(reader)
    db.flush()
    db.add(
        Subscription(
            subscriber_id=reader.id,
            list_id=world_news.id,
            status=SubscriptionStatus.unconfirmed,
            subscribed_at=utcnow(),
            source="test",
            consent_text_version="test",
        )
    )
    db.commit()
    # a Celery task proxy: imported at module level, collection would evaluate it and configure the app
    # before the settings fixture has set the environment
    from service.readers.tasks import send_confirmation

    mailbox.offer_smtputf8(False)
    try:
        with caplog.at_level(logging.ERROR, logger="service.tasks"):
            send_confirmation(reader.id, [world_news.id])  # run here: no retry is asked for, nothing raised
    finally:
        mailbox.offer_smtputf8(True)
    assert mailbox.messages_to(UTF8_LOCAL) == []
    assert any("SMTPUTF8" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("Reader@Example.com", "reader@example.com"),
        ("reader+news@example.com", "reader@example.com"),
        ("First.Last+x@GMail.com", "firstlast@gmail.com"),
        ("first.last@googlemail.com", "firstlast@gmail.com"),
        ("first.last@example.com", "first.last@example.com"),
        ("user@Bücher.example", IDN_ON_THE_WIRE),
        ("Üser+tag@bücher.example", "üser@xn--bcher-kva.example"),
        ("+only@example.com", "+only@example.com"),
    ],
)
def test_mailbox_key_names_the_mailbox_an_address_reaches(address, key):
    assert mailbox_key(address) == key
