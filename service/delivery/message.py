"""An edition's email as pre-encoded bytes: built once per edition, per recipient only spliced.

The frozen HTML and text are quoted-printable encoded once, split at the per-recipient
placeholders. Every piece ends in a soft line break (`=` CRLF), so each recipient's value can be
encoded on its own and dropped in between without re-encoding the whole body. The bytes are
already dot-stuffed for SMTP DATA. `tests/test_delivery_message.py` checks that what a reader
decodes is exactly what `rendering.edition_message` builds the slow way.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import re
import secrets
import time
from dataclasses import dataclass
from email import policy, quoprimime
from email.message import EmailMessage
from email.utils import formatdate

from service.branding.brand import brand_of
from service.branding.brand import sender as branded_sender
from service.core.addresses import wire_address
from service.core.config import Settings
from service.core.mail_headers import address_line
from service.editions.rendering import edition_message_id, placeholders
from service.mail import links
from service.mail.dkim import signer_for
from service.mail.dkim.canonical import relaxed_lines
from service.mail.emails import feedback_id, list_headers
from service.models import Edition, MailingList, Subscriber

CRLF = b"\r\n"
PER_READER = (b"to", b"date", b"message-id", b"list-unsubscribe")  # signed headers that differ per reader
SOFT_BREAK = "=\r\n"
_LINE_START_DOT = re.compile(rb"(^|\r\n)\.")


@dataclass(frozen=True)
class Recipient:
    """What the sender knows of one reader: enough to address and personalise the email."""

    subscriber_id: int
    email: str
    name: str


def qp(text: str) -> str:
    """Quoted-printable of UTF-8 text with CRLF line ends, as the email package writes it."""
    return quoprimime.body_encode(text.encode("utf-8").decode("latin-1"), maxlinelen=76, eol="\r\n")


def qp_piece(text: str) -> str:
    """A QP piece that ends at a line start: a soft break is added unless it ends in a hard one."""
    encoded = qp(text)
    return encoded if not encoded or encoded.endswith("\r\n") else encoded + SOFT_BREAK


def dot_stuff(data: bytes) -> bytes:
    """SMTP DATA transparency (RFC 5321 4.5.2) for a piece that starts at a line start."""
    return _LINE_START_DOT.sub(rb"\1..", data)


class QpBody:
    """A QP-encoded body with named holes: static pieces encoded once, values encoded per recipient."""

    def __init__(self, content: str, tokens: dict[str, str]):
        pattern = re.compile("|".join(re.escape(token) for token in tokens.values()))
        by_token = {token: name for name, token in tokens.items()}
        if not content.endswith("\n"):
            content += "\n"  # as the email package does: a text part ends with a line end
        self.pieces: list[bytes] = []
        self.canonical: list[bytes] = []  # the same pieces, not dot-stuffed, in DKIM's relaxed form
        self.holes: list[str] = []
        start = 0
        for match in pattern.finditer(content):
            self._add(qp_piece(content[start : match.start()]).encode("ascii"))
            self.holes.append(by_token[match.group(0)])
            start = match.end()
        self._add(qp_piece(content[start:]).encode("ascii"))

    def _add(self, piece: bytes) -> None:
        """One static piece, as sent and as DKIM hashes it."""
        self.pieces.append(dot_stuff(piece))
        self.canonical.append(relaxed_lines(piece))

    def parts(self, encoded_values: dict[str, bytes]) -> list[bytes]:
        """The body's pieces for one recipient, to be joined once with the rest of the message."""
        out = [self.pieces[0]]
        for hole, piece in zip(self.holes, self.pieces[1:], strict=True):
            out += (encoded_values[hole], piece)
        return out

    def render(self, encoded_values: dict[str, bytes]) -> bytes:
        """The body for one recipient, given each value already encoded as a QP piece."""
        return b"".join(self.parts(encoded_values))

    def hash_after_first(self, hashed, canonical_values: dict[str, bytes]) -> None:
        """Feed DKIM's body hash everything after the first piece (that one is in the edition's prefix hash)."""
        for hole, piece in zip(self.holes, self.canonical[1:], strict=True):
            hashed.update(canonical_values[hole])
            hashed.update(piece)


def _header_lines(headers: dict[str, str]) -> bytes:
    """Headers folded and encoded (RFC 2047) by the email package, with CRLF line ends."""
    message = EmailMessage(policy=policy.SMTP)
    for key, value in headers.items():
        message[key] = value
    return message.as_bytes().split(b"\r\n\r\n", 1)[0] + CRLF


def to_header(recipient: Recipient) -> bytes:
    """The To line, by the one address-header builder (UTF-8 only for a local part that needs SMTPUTF8)."""
    return address_line("To", recipient.name, recipient.email).encode("utf-8")


class EditionMail:
    """One edition's email for any recipient: the costly work happens once, in the constructor."""

    def __init__(self, settings: Settings, edition: Edition, mailing_list: MailingList):
        self.settings = settings
        self.edition = edition
        self.list_id = mailing_list.id
        self.boundary = f"=============={secrets.token_hex(12)}=="
        shared = list_headers(settings, Subscriber(id=0, email="x@x"), mailing_list)
        self.mailto = settings.mail_unsubscribe_mailto
        sender = branded_sender(settings, brand_of(settings, mailing_list))  # branded name
        self.static_headers = address_line("From", sender.name, sender.address).encode("utf-8") + _header_lines(
            {
                "Subject": edition.subject,
                "List-Id": shared["List-Id"],
                "List-Unsubscribe-Post": shared["List-Unsubscribe-Post"],
                "Precedence": "bulk",
                "Feedback-ID": feedback_id(settings, f"edition-{edition.id}", mailing_list.slug, "newsletter"),
                "MIME-Version": "1.0",
                "Content-Type": f'multipart/alternative; boundary="{self.boundary}"',
            }
        )
        tokens = placeholders(edition.placeholder_key)
        part = 'Content-Type: text/{}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
        self.text_head = f"\r\n--{self.boundary}\r\n{part.format('plain')}".encode("ascii")
        self.html_head = f"\r\n--{self.boundary}\r\n{part.format('html')}".encode("ascii")
        self.tail = f"\r\n--{self.boundary}--\r\n".encode("ascii")
        self.text = QpBody(edition.text, tokens)
        self.html = QpBody(edition.html, tokens)
        self.envelope_from = wire_address(sender.address)
        signer = signer_for(settings)
        # DKIM: the static headers are canonicalised and hashed once; so is the body up to the first hole
        self.dkim = signer.prepare(self.static_headers, PER_READER) if signer else None
        self.body_start = hashlib.sha256(relaxed_lines(self.text_head[2:]) + self.text.canonical[0])
        self.html_start = relaxed_lines(self.html_head) + self.html.canonical[0]
        self.tail_canonical = relaxed_lines(self.tail)  # ends in a boundary line: no empty lines to drop

    def message_id(self, recipient: Recipient) -> str:
        """Stable per (edition, subscriber): the same as the slow path's (no ORM object per message)."""
        return edition_message_id(self.settings, self.edition, recipient.subscriber_id)

    def render(self, recipient: Recipient, date: str | None = None) -> bytes:
        """The complete, dot-stuffed message bytes for one recipient (CRLF line ends)."""
        return self.finish(self.draft(recipient, date))

    def draft(self, recipient: Recipient, date: str | None = None) -> Draft:
        """Everything per reader but the signature: links, headers and the body hash (cheap; may raise for a
        reader who cannot be addressed)."""
        unsubscribe = links.unsubscribe_url(self.settings, recipient.subscriber_id, self.list_id)
        values = {
            "unsubscribe_url": unsubscribe,
            "preferences_url": links.preferences_url(self.settings, recipient.subscriber_id),
            "recipient_email": recipient.email,
        }
        text_values, html_values, text_canonical, html_canonical = {}, {}, {}, {}
        for name, value in values.items():
            text_values[name], text_canonical[name] = _value_piece(value)
            escaped = html_lib.escape(value, quote=True)
            html_values[name], html_canonical[name] = (
                (text_values[name], text_canonical[name]) if escaped == value else _value_piece(escaped)
            )
        targets = f"<{unsubscribe}>" + (f",\r\n <mailto:{self.mailto}?subject=unsubscribe>" if self.mailto else "")
        own_headers = to_header(recipient) + (
            f"Date: {date or _now_header()}\r\n"
            f"Message-ID: {self.message_id(recipient)}\r\n"
            f"List-Unsubscribe: {targets}\r\n"
        ).encode("ascii")
        body_hash = b""
        if self.dkim is not None:  # per reader: the body hash past the first hole
            body = self.body_start.copy()
            self.text.hash_after_first(body, text_canonical)
            body.update(self.html_start)
            self.html.hash_after_first(body, html_canonical)
            body.update(self.tail_canonical)
            body_hash = body.digest()
        return Draft(own_headers, body_hash, self.text.parts(text_values), self.html.parts(html_values))

    def finish(self, draft: Draft) -> bytes:
        """The message bytes: the signature (the costly part, one private-key operation per key) and one join."""
        signature = self.dkim.signatures(draft.own_headers, draft.body_hash) if self.dkim is not None else b""
        return b"".join(
            (  # one copy of the ~80 KB: the bodies come as pieces, not as joined bytes
                signature,
                self.static_headers,
                draft.own_headers,
                self.text_head,
                *draft.text_parts,
                self.html_head,
                *draft.html_parts,
                self.tail,
            )
        )


@dataclass(frozen=True)
class Draft:
    """One reader's message before signing: its own headers, its body hash (DKIM only) and its body pieces."""

    own_headers: bytes
    body_hash: bytes
    text_parts: list[bytes]
    html_parts: list[bytes]


_DATE: tuple[int, str] = (0, "")


def _now_header() -> str:
    """The Date header's value, formatted once a second rather than once a message."""
    global _DATE
    second = int(time.time())
    if _DATE[0] != second:
        _DATE = (second, formatdate(second, localtime=False, usegmt=True))
    return _DATE[1]


def _value_piece(value: str) -> tuple[bytes, bytes]:
    """One recipient's value as a ready QP piece (it, too, starts at a line start), and as DKIM hashes it."""
    piece = qp_piece(value).encode("ascii")
    return dot_stuff(piece), relaxed_lines(piece)
