"""Startup self-test: does this interpreter's email package refuse header injection (CVE-2024-6923)?

Stdlib only and no project imports, so `python -m service.mail.safety` can run before anything else.
It tests the behaviour, not the version number: distributions backport the fix without changing it.
"""

from __future__ import annotations

import sys
from email import message_from_bytes, policy
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage

_PROBE_NAME = "=?utf-8?q?Ann=0D=0AReply-To:_attacker@evil.example?="
_PROBE_BODY = "probe body"
_EXPECTED = (b"to", b"subject", b"content-type", b"content-transfer-encoding", b"mime-version")


def email_package_is_safe() -> bool:
    """True when an encoded word carrying CR LF in a display name cannot add a header or end the headers."""
    message = EmailMessage(policy=policy.default)
    message["To"] = Address(display_name=_PROBE_NAME, username="reader", domain="example.com")
    message["Subject"] = "probe"
    message.set_content(_PROBE_BODY)
    try:
        data = message.as_bytes(policy=policy.SMTP)
    except (MessageError, ValueError):  # a patched package may refuse to write the header at all: safe too
        return True
    head = data.split(b"\r\n\r\n", 1)[0]
    starts = [line.split(b":", 1)[0].lower() for line in head.split(b"\r\n") if line[:1] not in (b" ", b"\t")]
    bare = head.replace(b"\r\n", b"")
    if sorted(starts) != sorted(_EXPECTED) or b"\r" in bare or b"\n" in bare:
        return False
    parsed = message_from_bytes(data, policy=policy.default)
    return [key.lower() for key in parsed].count("to") == 1 and parsed.get_content().strip() == _PROBE_BODY


def main() -> int:
    """Exit 0 when safe, 1 (with a one-line reason) when the email package can be made to inject headers."""
    if email_package_is_safe():
        print(f"email package is safe from header injection (Python {sys.version.split()[0]})")
        return 0
    print(
        f"UNSAFE: Python {sys.version.split()[0]}'s email package lets a display name inject headers "
        "(CVE-2024-6923); use a Python with the fix"
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
