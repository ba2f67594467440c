"""DKIM-Signature fields (RFC 6376, relaxed/relaxed; RFC 8463 Ed25519) made with OpenSSL through `cryptography`.

A message is signed in two halves: `prepare` canonicalises and hashes the headers that are the same for
every reader once; `Prepared.signatures` adds one reader's headers and body hash to a copy of that hash
state and makes one signature per key. dkimpy's verifier checks the result in tests/test_dkim.py.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterable, Sequence

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa, utils

from service.core.config.dkim_keys import DkimKey
from service.mail.dkim.canonical import CRLF, header_map, relaxed_body, relaxed_header

# What h= covers when present (RFC 6376 5.4.1, plus RFC 8058's List-Unsubscribe-Post, which must be signed
# for one-click unsubscribe to count, and Google's Feedback-ID). From is signed once more than it occurs
# ("oversigned"), so a second From added on the way breaks the signature.
SIGNED = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"feedback-id",
    b"mime-version",
    b"content-type",
)
OVERSIGNED = (b"from",)
_PKCS1 = padding.PKCS1v15()
_PREHASHED = utils.Prehashed(hashes.SHA256())


def body_hash(body: bytes) -> bytes:
    """bh= for a whole body (not dot-stuffed), relaxed."""
    return hashlib.sha256(relaxed_body(body)).digest()


def _fold_list(names: Iterable[bytes], start: int) -> bytes:
    """h='s colon list, folded before a name once a line would pass 76 columns (FWS is allowed there)."""
    out, column = b"", start
    for index, name in enumerate(names):
        piece = name if index == 0 else b":" + name
        if column + len(piece) > 76 and index:
            out += b":\r\n\t" + name
            column = 1 + len(name)
        else:
            out += piece
            column += len(piece)
    return out


def _fold_b64(value: bytes) -> bytes:
    """b='s base64 in 72-character lines (FWS inside b= is ignored by verifiers)."""
    return b"\r\n\t".join(value[i : i + 72] for i in range(0, len(value), 72))


class Signer:
    """The configured keys; one DKIM-Signature per key on every message."""

    def __init__(self, keys: Sequence[DkimKey]):
        if not keys:
            raise ValueError("a Signer needs at least one key")
        self.keys = tuple(keys)

    def prepare(self, static_headers: bytes, per_message: Sequence[bytes]) -> Prepared:
        """Signing state for messages sharing static_headers (a CRLF header block); per_message names the rest."""
        return Prepared(self.keys, header_map(static_headers), [name.lower() for name in per_message])

    def sign(self, message: bytes, now: int | None = None) -> bytes:
        """DKIM-Signature fields to put in front of a complete message (CRLF line ends, not dot-stuffed)."""
        head, _, body = message.partition(CRLF + CRLF)
        prepared = Prepared(self.keys, header_map(head + CRLF), [])
        return prepared.signatures(b"", body_hash(body), now)


class Prepared:
    """The static half of the header hash, computed once; `signatures` finishes it per message."""

    def __init__(self, keys: Sequence[DkimKey], static: dict[bytes, bytes], per_message: list[bytes]):
        self.keys = keys
        static_names = [name for name in SIGNED if name in static and name not in per_message]
        self.per_message = [name for name in SIGNED if name in per_message]
        self.names = [*static_names, *self.per_message, *OVERSIGNED]
        self.static_hash = hashlib.sha256(b"".join(static[name] for name in static_names))
        self.prefixes = []
        for key in keys:
            head = (
                f"DKIM-Signature: v=1; a={key.algorithm}; c=relaxed/relaxed; d={key.domain};\r\n\ts={key.selector}; h="
            ).encode("ascii")
            self.prefixes.append(head + _fold_list(self.names, len(head) - head.rindex(b"\t")) + b";\r\n\t")

    def signatures(self, own_headers: bytes, bh: bytes, now: int | None = None) -> bytes:
        """The DKIM-Signature fields for one message: its own header block and its body hash (bh= raw digest)."""
        own = header_map(own_headers) if own_headers else {}
        hashed = self.static_hash.copy()
        for name in self.per_message:
            if name in own:
                hashed.update(own[name])
        stamp = int(time.time()) if now is None else now
        tail = f"t={stamp}; bh=".encode("ascii") + base64.b64encode(bh) + b";\r\n\tb="
        out = []
        for key, prefix in zip(self.keys, self.prefixes, strict=True):
            unsigned = prefix + tail
            digest = hashed.copy()
            digest.update(relaxed_header(unsigned)[:-2])  # the field itself, b= empty and no final CRLF
            out.append(unsigned + _fold_b64(base64.b64encode(_sign(key, digest.digest()))) + CRLF)
        return b"".join(out)


def _sign(key: DkimKey, digest: bytes) -> bytes:
    """RSASSA-PKCS1-v1_5 over the SHA-256 digest, or Ed25519 over the digest itself (RFC 8463 3)."""
    if isinstance(key.private_key, rsa.RSAPrivateKey):
        return key.private_key.sign(digest, _PKCS1, _PREHASHED)
    assert isinstance(key.private_key, ed25519.Ed25519PrivateKey)
    return key.private_key.sign(digest)
