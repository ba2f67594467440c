"""Signed link tokens (itsdangerous): one salt per purpose, so a token only opens its own door."""

from __future__ import annotations

from enum import Enum
from functools import lru_cache
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.url_safe import URLSafeSerializerMixin

from service.core.errors import ExpiredToken, InvalidToken
from service.i18n.locales import N_


class Purpose(str, Enum):
    """What a token may be used for."""

    confirm = "confirm"
    unsubscribe = "unsubscribe"
    preferences = "preferences"
    inbox = "inbox"  # the check-your-inbox page's cookie: the address just submitted, for a limited resend
    data = "data"  # a reader's own data (download, delete): sent by email on request, good for an hour


SHORT_PAYLOAD = 48  # JSON bytes below which zlib never makes a link shorter (its header and checksum cost more)


class _LinkSerializer(URLSafeTimedSerializer):
    """itsdangerous' URL-safe timed tokens, without the zlib attempt on short payloads.

    Each newsletter carries two links per reader; trying zlib on a 20-byte payload cost more than the rest
    of the signing, and never won. Tokens are the same bytes either way and read by the same `loads`.
    """

    def dump_payload(self, obj: Any) -> bytes:
        """The payload as base64 JSON, compressed only when it is long enough to gain from it."""
        json = super(URLSafeSerializerMixin, self).dump_payload(obj)
        return base64_encode(json) if len(json) < SHORT_PAYLOAD else super().dump_payload(obj)


@lru_cache(maxsize=16)
def _serializer(secret_key: str, purpose: Purpose) -> URLSafeTimedSerializer:
    """A serializer whose salt binds tokens to one purpose (built once: links are signed per reader per send)."""
    return _LinkSerializer(secret_key, salt=f"newsletter.{purpose.value}")


def make_token(secret_key: str, purpose: Purpose, payload: dict[str, Any]) -> str:
    """Sign a small payload for a link."""
    return _serializer(secret_key, purpose).dumps(payload)


def read_signed(secret_key: str, purpose: Purpose, token: str, *, max_age: int | None = None) -> Any:
    """Verify a token for this purpose and return what it carries; raise a domain error a page can explain."""
    try:
        return _serializer(secret_key, purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise ExpiredToken(N_("This link has expired. Please subscribe again to get a new one.")) from None
    except BadSignature:
        raise InvalidToken(N_("This link is not valid. Please use the link from your latest email.")) from None


def read_token(secret_key: str, purpose: Purpose, token: str, *, max_age: int | None = None) -> dict[str, Any]:
    """Verify a link token naming a subscriber; raise a domain error a page can explain."""
    payload = read_signed(secret_key, purpose, token, max_age=max_age)
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        raise InvalidToken(N_("This link is not valid. Please use the link from your latest email."))
    return payload
