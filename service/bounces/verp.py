"""VERP: an envelope sender per message, `bounces+TOKEN@domain`, whose token names what bounced.

The token is base32 (lowercase, no padding: safe in a local part, and case-insensitive because some
MTAs lower-case local parts) of a tag byte, a number and 5 bytes of an HMAC keyed by SECRET_KEY, so
nobody can forge a bounce for someone else's delivery. Bulk tokens name a delivery row; transactional
ones name a subscriber and the kind of email.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

from service.config import Settings

MAC_BYTES = 5
DELIVERY = b"d"
TRANSACTIONAL = {"confirmation": b"c", "welcome": b"w", "other": b"t"}
_KIND_OF = {tag: kind for kind, tag in TRANSACTIONAL.items()}


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
        self._key = hashlib.sha256(b"verp:" + settings.secret_key.encode()).digest()
        self._address = re.compile(rf"{re.escape(self.local)}\+([a-z2-7]{{8,40}})@", re.IGNORECASE)

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
