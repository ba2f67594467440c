"""The fast path (bytes built once per edition, values spliced per reader) gives the same email as the slow path."""

from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest

from service.delivery.message import EditionMail, QpBody, Recipient, dot_stuff
from service.editions.rendering import edition_message
from service.models import Subscriber
from tests.support.edition_stories import HOSTILE_TITLE, built_edition

READERS = [
    Subscriber(id=7, email="ada@example.org", name=""),
    Subscriber(id=8, email="grace.hopper@example.org", name="Grace Hopper"),
    Subscriber(id=9, email="o.brien@example.org", name='Seán O\'Brien, "Jr"'),
    Subscriber(id=10, email="k" * 60 + "@example.org", name="Kathmandu Reader"),
]


def _same_second(text: str) -> str:
    """Signed links carry their signing time; two renders a second apart differ only there."""
    return re.sub(r"(/(?:unsubscribe|preferences)/[\w-]+)\.[\w-]+\.[\w-]+", r"\1.SIGNED", text)


def _undo_dot_stuffing(data: bytes) -> bytes:
    """What the receiving server does before storing the message."""
    return data.replace(b"\r\n..", b"\r\n.")


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.email[:12])
def test_reader_gets_the_same_email_both_ways(db, settings, world_news, reader):
    edition = built_edition(db, settings, world_news)
    built = edition_message(settings, edition, world_news, reader)
    slow = message_from_bytes(built.as_bytes(policy=policy.SMTP), policy=policy.default)  # as it goes on the wire
    raw = EditionMail(settings, edition, world_news).render(Recipient(reader.id, reader.email, reader.name))
    fast = message_from_bytes(_undo_dot_stuffing(raw), policy=policy.default)

    for header in (
        "Subject",
        "From",
        "To",
        "Message-ID",
        "List-Id",
        "List-Unsubscribe",
        "List-Unsubscribe-Post",
        "Precedence",
        "Feedback-ID",
    ):
        assert _same_second(str(fast[header])) == _same_second(str(slow[header])), header
    assert fast.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in fast.iter_parts()] == ["text/plain", "text/html"]
    for kind in ("plain", "html"):
        fast_body, slow_body = (m.get_body((kind,)).get_content() for m in (fast, slow))
        assert _same_second(fast_body) == _same_second(slow_body), kind
    assert HOSTILE_TITLE in fast.get_body(("plain",)).get_content()


def test_message_is_seven_bit_with_short_lines_and_dot_stuffed(db, settings, world_news):
    edition = built_edition(db, settings, world_news, stories=12)
    raw = EditionMail(settings, edition, world_news).render(Recipient(5, "a@example.org", "A"))
    raw.decode("ascii")
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    body_lines = raw.split(b"\r\n\r\n", 1)[1].split(b"\r\n")
    assert max(len(line) for line in body_lines) <= 78, "quoted-printable keeps body lines short"
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert all(not line.startswith(b".") or line.startswith(b"..") for line in lines)
    html = message_from_bytes(_undo_dot_stuffing(raw), policy=policy.default).get_body(("html",)).get_content()
    assert len(html.encode()) < 100_000


def test_qp_pieces_decode_to_the_original_whatever_the_split():
    text = "Line one.\n.starts with a dot\ntrailing space \n" + "é" * 90 + "=equals\n" + "x" * 300
    tokens = {"a": "%%k:a%%", "b": "%%k:b%%"}
    body = QpBody(text[:50] + tokens["a"] + text[50:120] + tokens["b"] + text[120:], tokens)
    values = {"a": dot_stuff(b"AAA=\r\n"), "b": dot_stuff(b".B=\r\n")}
    raw = b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    message = message_from_bytes(_undo_dot_stuffing(raw + body.render(values)), policy=policy.default)
    decoded = message.get_content().replace("\r\n", "\n")
    assert decoded == text[:50] + "AAA" + text[50:120] + ".B" + text[120:] + "\n"
