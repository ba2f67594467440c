"""The one way an address header (From, To) is written: no reader's name can ever add a header line.

The email package decodes `=?..?=` words inside display names, even quoted ones, and before the
CVE-2024-6923 fix wrote the decoded CR LF out as a new header line. So names never go through its
parser here: a name is written as plain words, a quoted string, or RFC 2047 base64 words (which
decode to the name's literal text, `=?` included), and the finished line is checked before use.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from dataclasses import dataclass
from email.policy import Policy
from email.utils import parseaddr
from functools import lru_cache
from typing import Self

from service.core.addresses import needs_smtputf8, wire_address
from service.core.errors import InvalidAddress

MAX_LINE = 78
_ATOMS = re.compile(r"[A-Za-z0-9]+( [A-Za-z0-9]+)*")  # written as is, as the email package does
_QUOTABLE = re.compile(r"[ -~]*")  # printable ASCII: a quoted string with \\ and \" escaped
_ASCII_ADDRESS = re.compile(r"[-!#-'*+./-9=?A-Z^-~]+@[A-Za-z0-9.-]+")  # dot-atom@ldh: nothing to check further
_BARE_BREAK = re.compile(r"\r(?!\n[ \t])|(?<!\r)\n|\r\n(?![ \t])")
_WORD_BYTES = 45  # 60 base64 characters: "=?utf-8?b?" + 60 + "?=" stays within RFC 2047's 75


class UnsafeHeader(ValueError):
    """An address header that would carry a line break or control character: refused, never sent."""


@dataclass(frozen=True)
class Mailbox:
    """A display name and an address, as stored (the address may be internationalised)."""

    name: str
    address: str


def address_line(field: str, name: str, address: str) -> str:
    """'Field: name <address>' folded with CRLF and ending in CRLF; raises UnsafeHeader or InvalidAddress."""
    name = name.strip()
    if not name and _ASCII_ADDRESS.fullmatch(address):
        return f"{field}: {address}\r\n"  # the bulk sender's common case: no work beyond one regex
    if _ATOMS.fullmatch(name) and _ASCII_ADDRESS.fullmatch(address) and len(field) + len(name) + len(address) < 74:
        return f"{field}: {name} <{address}>\r\n"
    return _checked(_general_line(field, name, address))


@lru_cache(maxsize=1024)
def _general_line(field: str, name: str, address: str) -> str:
    """Names with quotes, non-ASCII text or `=?` words, long lines and IDNA domains: built and folded here."""
    spec = wire_address(address)
    if not name:
        return f"{field}: {spec}\r\n"
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise UnsafeHeader(f"the display name for {spec} contains control characters")
    if _QUOTABLE.fullmatch(name) and "=?" not in name:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        words = [f'"{quoted}"'] if len(quoted) + len(field) + len(spec) < 72 else _encoded_words(name)
    else:
        words = _encoded_words(name)
    return _fold([f"{field}:", *words, f"<{spec}>"])


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 base64 words of at most 45 UTF-8 bytes each, never splitting a character."""
    words, chunk = [], b""
    for char in text:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > _WORD_BYTES:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(word).decode('ascii')}?=" for word in words]


def _fold(tokens: list[str]) -> str:
    """Join tokens with a space, starting a continuation line (CRLF SP) where a line would pass 78."""
    lines = [tokens[0]]
    for token in tokens[1:]:
        if len(lines[-1]) + 1 + len(token) > MAX_LINE:
            lines.append(" " + token)
        else:
            lines[-1] += " " + token
    return "\r\n".join(lines) + "\r\n"


def _checked(line: str) -> str:
    """The last gate: a CR or LF anywhere but in a fold (CRLF then a space), or any control character, is refused."""
    body = line[:-2]
    if (
        not line.endswith("\r\n")
        or _BARE_BREAK.search(body)
        or any(unicodedata.category(c) == "Cc" for c in body.replace("\r\n ", ""))
    ):
        raise UnsafeHeader(f"refusing to write a header with a line break or control character: {line!r}")
    return line


def mailbox_from_config(value: str) -> Mailbox:
    """The configured From ('World News <news@example.org>') as a Mailbox; our own setting, still checked."""
    name, address = parseaddr(value)
    if not address or "@" not in address:
        raise InvalidAddress(f"MAIL_FROM is not an address: {value!r}")
    return Mailbox(name, address)


class PreparedHeader(str):
    """An address header the email package stores and writes exactly as built here (never reparsed)."""

    name: str
    line: str
    address: str
    smtputf8: bool

    def __new__(cls, field: str, mailbox: Mailbox) -> Self:
        """Build the line once; the str value is the unfolded header value, for readers of message[field]."""
        line = address_line(field, mailbox.name, mailbox.address)
        header = super().__new__(cls, line[len(field) + 1 :].replace("\r\n", "").strip())
        header.name, header.line = field, line
        header.address = wire_address(mailbox.address)
        header.smtputf8 = needs_smtputf8(header.address)
        return header

    def fold(self, *, policy: Policy) -> str:
        """The prepared line, with the policy's line ends."""
        return self.line.replace("\r\n", policy.linesep)
