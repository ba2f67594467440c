"""VERP: an envelope sender per message, `bounces+TOKEN@domain`, whose token names what bounced.

The token is base32 (lowercase, no padding: safe in a local part, and case-insensitive because some
MTAs lower-case local parts) of a tag byte, a number and 5 bytes of an HMAC keyed by SECRET_KEY, so
nobody can forge a bounce for someone else's delivery. Bulk tokens name a delivery row; transactional
ones name a subscriber and the kind of email. An edition's Message-ID carries the same kind of MAC
(`<edition-7.reader-42.MAC@domain>`), so a complaint quoting it names its reader unforgeably too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

from service.core.config import Settings

MAC_BYTES = 5
DELIVERY = b"d"
TRANSACTIONAL = {"confirmation": b"c", "welcome": b"w", "other": b"t"}
_KIND_OF = {tag: kind for kind, tag in TRANSACTIONAL.items()}
MESSAGE_ID = re.compile(r"<?edition-(\d{1,18})\.reader-(\d{1,18})\.([a-z2-7]{8})@([^>\s]+)>?", re.IGNORECASE)
SHAPED = r"\+([a-z2-7]{8,40})@"  # a VERP token's shape, valid or not


@lru_cache(maxsize=8)
def _key(secret_key: str) -> bytes:
    """The MAC key for VERP tokens and Message-IDs, derived from SECRET_KEY."""
    return hashlib.sha256(b"verp:" + secret_key.encode()).digest()


def _message_mac(key: bytes, edition_id: int, subscriber_id: int) -> str:
    """Eight base32 characters (40 bits) binding an edition to a reader."""
    mac = hmac.new(key, f"message-id:{edition_id}:{subscriber_id}".encode(), hashlib.sha256).digest()[:MAC_BYTES]
    return base64.b32encode(mac).decode().lower()


def signed_message_id(settings: Settings, edition_id: int, subscriber_id: int) -> str:
    """An edition's Message-ID for one reader: stable, and unforgeable by anyone without SECRET_KEY."""
    mac = _message_mac(_key(settings.secret_key), edition_id, subscriber_id)
    return f"<edition-{edition_id}.reader-{subscriber_id}.{mac}@{settings.mail_domain}>"


@dataclass(frozen=True)
class MessageIdTarget:
    """The edition and reader a signed Message-ID of ours names, and the Message-ID as written."""

    edition_id: int
    subscriber_id: int
    message_id: str


@dataclass(frozen=True)
class VerpTarget:
    """What a VERP token names: a delivery row, or a subscriber and a transactional email kind."""

    delivery_id: int | None = None
    subscriber_id: int | None = None
    kind: str = "bulk"


class Verp:
    """Makes and reads VERP addresses for one configuration (one key, one local part, one domain)."""

    def __init__(self, settings: Settings):
        self.enabled = settings.verp_enabled
        self.local = settings.verp_local_part
        self.domain = settings.effective_verp_domain
        self._key = _key(settings.secret_key)
        self._address = re.compile(rf"{re.escape(self.local)}{SHAPED}", re.IGNORECASE)

    def _token(self, tag: bytes, number: int) -> str:
        """The opaque, tamper-evident token."""
        body = tag + number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")
        mac = hmac.new(self._key, body, hashlib.sha256).digest()[:MAC_BYTES]
        return base64.b32encode(body + mac).decode().rstrip("=").lower()

    def address(self, token: str) -> str:
        """The envelope sender carrying a token."""
        return f"{self.local}+{token}@{self.domain}"

    def for_delivery(self, delivery_id: int) -> str:
        """A bulk message's envelope sender."""
        return self.address(self._token(DELIVERY, delivery_id))

    def for_subscriber(self, subscriber_id: int, kind: str) -> str:
        """A transactional message's envelope sender (confirmation, welcome...)."""
        return self.address(self._token(TRANSACTIONAL.get(kind, TRANSACTIONAL["other"]), subscriber_id))

    def read(self, token: str) -> VerpTarget | None:
        """What a token names; None when it is malformed or its HMAC does not match (forged, or another key)."""
        try:
            raw = base64.b32decode(token.upper() + "=" * (-len(token) % 8))
        except (binascii.Error, ValueError):
            return None
        body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
        expected = hmac.new(self._key, body, hashlib.sha256).digest()[:MAC_BYTES]
        if len(body) < 2 or not hmac.compare_digest(mac, expected):
            return None
        number = int.from_bytes(body[1:], "big")
        if body[:1] == DELIVERY:
            return VerpTarget(delivery_id=number)
        kind = _KIND_OF.get(body[:1])
        return VerpTarget(subscriber_id=number, kind=kind) if kind else None

    def find(self, *texts: str | None) -> VerpTarget | None:
        """The first valid VERP token in some header values (To, Delivered-To, an original Return-Path...)."""
        for text in texts:
            for token in self._address.findall(text or ""):
                target = self.read(token)
                if target is not None:
                    return target
        return None

    def shaped(self, *texts: str | None) -> bool:
        """Whether some header value carries an address shaped like ours (to tell a bad token from none)."""
        return any(self._address.search(text or "") for text in texts)

    def message_ids(self, text: str) -> list[MessageIdTarget]:
        """Every Message-ID of ours in a text whose MAC is right (an old unsigned or a forged one is left out)."""
        found = []
        for match in MESSAGE_ID.finditer(text):
            edition_id, subscriber_id = int(match.group(1)), int(match.group(2))
            if hmac.compare_digest(match.group(3).lower(), _message_mac(self._key, edition_id, subscriber_id)):
                message_id = f"<edition-{edition_id}.reader-{subscriber_id}.{match.group(3)}@{match.group(4)}>"
                found.append(MessageIdTarget(edition_id, subscriber_id, message_id))
        return list({(t.edition_id, t.subscriber_id): t for t in found}.values())
