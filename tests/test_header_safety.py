"""No reader's name can add a header line: one address-header builder, a startup self-test, and a property test."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from email import message_from_bytes, message_from_string, policy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from service.core.addresses import normalise_address, wire_address
from service.core.config import REPO_ROOT
from service.core.errors import InvalidAddress
from service.core.mail_headers import UnsafeHeader, address_line
from service.delivery.message import EditionMail, Recipient
from service.editions.rendering import edition_message
from service.mail import emails
from service.mail.safety import email_package_is_safe
from service.mail.smtp import wire_bytes
from service.models import Subscriber
from tests.support.edition_stories import built_edition

INJECTION = "=?utf-8?q?Ann=0D=0AReply-To:_attacker@evil.example?="
BODY_SWAP = "=?utf-8?q?Ann=0D=0A=0D=0AYou_won!_Send_your_password_to_attacker@evil.example?="
UNPATCHED_PYTHON = Path("/root/.pyenv/versions/3.11.7/bin/python3")
BARE_BREAK = re.compile(rb"\r(?!\n)|(?<!\r)\n")
FIELD_LINE = re.compile(rb"[!-9;-~]+:")
# MJML cannot compile text XML forbids: such a name fails the confirmation and welcome bodies before any header
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _head(raw: bytes) -> bytes:
    """The header block of a message as it goes on the wire."""
    return raw.split(b"\r\n\r\n", 1)[0]


def _fields(raw: bytes) -> list[str]:
    """The names of the header fields, as a receiving server splits them (continuation lines are not fields)."""
    lines = _head(raw).split(b"\r\n")
    return [line.split(b":", 1)[0].decode().lower() for line in lines if not line[:1].isspace()]


def _assert_one_clean_to(raw: bytes, address: str, name: str) -> None:
    """One To header naming exactly this address; no bare CR or LF; every line a field or a fold."""
    head = _head(raw)
    assert not BARE_BREAK.search(head), head
    for line in head.split(b"\r\n"):
        assert line[:1] in (b" ", b"\t") or FIELD_LINE.match(line), line
        assert len(line) <= 998
    fields = _fields(raw)
    assert fields.count("to") == 1 and fields.count("from") == 1 and "reply-to" not in fields, fields
    unstuffed = raw.replace(b"\r\n..", b"\r\n.")
    parsed = (
        message_from_bytes(unstuffed, policy=policy.default)
        if unstuffed.isascii()  # else RFC 6532 UTF-8
        else message_from_string(unstuffed.decode("utf-8"), policy=policy.default)
    )
    assert len(parsed.get_all("To")) == 1
    [mailbox] = parsed["To"].addresses
    assert mailbox.addr_spec == wire_address(address)
    assert "".join(mailbox.display_name.split()) == "".join(name.split()), "the name comes back as literal text"
    assert "\r" not in mailbox.display_name and "\n" not in mailbox.display_name


@pytest.mark.parametrize("name", [INJECTION, BODY_SWAP, f'"{INJECTION}"', INJECTION * 4])
def test_encoded_word_in_a_name_is_literal_text_in_every_email(settings, world_news, name):
    reader = Subscriber(id=3, email="a@example.com", name=name)
    for message in (
        emails.confirmation_message(settings, reader, [world_news]),
        emails.welcome_message(settings, reader, world_news),
    ):
        raw, _ = wire_bytes(message)
        _assert_one_clean_to(raw, reader.email, name)
        body = message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()
        assert "/confirm/" in body or "/unsubscribe/" in body, "the body is the one we wrote"


def test_edition_to_header_both_ways(db, settings, world_news):
    edition = built_edition(db, settings, world_news)
    reader = Subscriber(id=4, email="a@example.com", name=INJECTION)
    slow, _ = wire_bytes(edition_message(settings, edition, world_news, reader))
    fast = EditionMail(settings, edition, world_news).render(Recipient(reader.id, reader.email, reader.name))
    for raw in (slow, fast):
        _assert_one_clean_to(raw, reader.email, INJECTION)


@pytest.mark.parametrize("name", ["Ann\r\nReply-To: attacker@evil.example", "Ann\nX: y", "Ann\rX", "A\x00B", "A\x85B"])
def test_builder_refuses_control_characters(name):
    with pytest.raises(UnsafeHeader):
        address_line("To", name, "a@example.com")


def test_builder_refuses_an_address_that_could_break_the_line():
    with pytest.raises((UnsafeHeader, InvalidAddress)):
        address_line("To", "Ann", "a@example.com>\r\nBcc: b@example.com")


@pytest.mark.processes
def test_self_test_passes_here_and_fails_on_an_unpatched_python():
    assert email_package_is_safe()
    here = subprocess.run(
        [sys.executable, "-m", "service.mail.safety"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert here.returncode == 0 and len(here.stdout.strip().splitlines()) == 1
    if not UNPATCHED_PYTHON.exists():
        pytest.skip("no unpatched Python 3.11.7 on this machine")
    there = subprocess.run(
        [str(UNPATCHED_PYTHON), "-m", "service.mail.safety"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert there.returncode == 1 and "UNSAFE" in there.stdout


HOSTILE_PIECES = st.sampled_from(
    [
        "=?utf-8?q?",
        "=?utf-8?b?",
        "?=",
        "=0D=0A",
        "=0A",
        "DQo=",
        "\r\n",
        "\n",
        "\r",
        '"',
        "\\",
        "<",
        ">",
        "(",
        ")",
        ",",
        ";",
        ":",
        "@",
        " ",
        "\t",
        "é",
        "中",
        "\u2028",
        "Reply-To: x@evil.example",
        "_",
    ]
)
NAMES = st.one_of(
    st.text(max_size=120), st.lists(st.one_of(HOSTILE_PIECES, st.text(max_size=8)), max_size=25).map("".join)
)
LOCAL = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9._+-]{0,20}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["üser", "josé", "用户", "ñandú.x", "zoë+tag"]),
)
DOMAIN = st.one_of(
    st.sampled_from(["example.com", "bücher.example", "münchen.de", "例え.jp", "xn--bcher-kva.example"]),
    st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?\.(org|example|de)", fullmatch=True),
)


def _valid(local: str, domain: str) -> str | None:
    """The address as the door would store it, or None when the door would refuse it."""
    try:
        return normalise_address(f"{local}@{domain}")
    except InvalidAddress:
        return None


@pytest.mark.heavy
def test_any_name_and_address_gives_one_clean_to_header(db, settings, world_news):
    edition = built_edition(db, settings, world_news)
    fast_mail = EditionMail(settings, edition, world_news)

    @hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(name=NAMES, local=LOCAL, domain=DOMAIN)
    def check(name: str, local: str, domain: str) -> None:
        """Every email a reader can get: refused with UnsafeHeader only for control characters, else clean."""
        address = _valid(local, domain)
        if address is None:
            return
        reader = Subscriber(id=5, email=address, name=name)
        builders = [
            lambda: wire_bytes(edition_message(settings, edition, world_news, reader))[0],
            lambda: fast_mail.render(Recipient(reader.id, address, name)),
        ]
        if not XML_INVALID.search(name):
            builders += [
                lambda: wire_bytes(emails.confirmation_message(settings, reader, [world_news]))[0],
                lambda: wire_bytes(emails.welcome_message(settings, reader, world_news))[0],
            ]
        for build in builders:
            try:
                raw = build()
            except UnsafeHeader:
                assert any(unicodedata.category(c) == "Cc" for c in name), repr(name)
                continue
            _assert_one_clean_to(raw, address, name.strip())

    check()
