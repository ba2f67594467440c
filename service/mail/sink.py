"""The built-in SMTP sink for development: every message it receives becomes a .eml file in the outbox, and each
transactional one (a confirmation with its link, a welcome) is announced on one line, ready to copy."""

from __future__ import annotations

import re
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

CONFIRM_LINK = re.compile(r"https?://[^\s<>\"']+/confirm/[^\s<>\"']+")


def confirm_link(message: EmailMessage) -> str | None:
    """The confirmation link of a message, decoded from its text part (the .eml is quoted-printable and wrapped)."""
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return None
    found = CONFIRM_LINK.search(body.get_content())
    return found.group(0) if found else None


def announcement(raw: bytes, recipients: list[str]) -> str | None:
    """One line for a transactional message; None for an edition's messages (the worker reports their counts)."""
    message = message_from_bytes(raw, policy=policy.default)
    feedback = str(message.get("Feedback-ID", "")).split(":")  # campaign:list:kind:sender
    if len(feedback) > 2 and feedback[2] == "newsletter":
        return None
    to = ", ".join(recipients) or str(message.get("To", ""))
    if link := confirm_link(message):
        return f"confirmation for {to}: {link}"
    return f"mail to {to}: {message.get('Subject', '(no subject)')}"


class OutboxHandler:
    """aiosmtpd handler that writes each accepted message to its own file, atomically, and announces it."""

    def __init__(self, outbox: Path, announce: bool = True):
        self.outbox = outbox
        self.announce = announce
        outbox.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        """Store the message with its envelope (Return-Path first, as a final MTA writes it), then accept it."""
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:12]}.eml"
        header = (
            f"Return-Path: <{envelope.mail_from or ''}>\r\n"  # the VERP address a bounce for it goes back to
            + "".join(f"X-Envelope-To: {rcpt}\r\n" for rcpt in envelope.rcpt_tos)
        ).encode()
        temporary = self.outbox / f".{name}.tmp"
        temporary.write_bytes(header + envelope.original_content)
        temporary.rename(self.outbox / name)
        if self.announce:
            try:
                line = announcement(envelope.original_content, list(envelope.rcpt_tos))
            except Exception as error:  # noqa: BLE001 - a message we cannot read is still stored and accepted
                line = f"stored {name}, but cannot read it: {error}"
            if line:
                print(line, flush=True)
        return "250 Message accepted for delivery"


def recent(outbox: Path, limit: int = 10) -> Iterator[tuple[Path, str]]:
    """The newest transactional messages in the outbox, newest last, each with its one-line announcement."""
    found: list[tuple[Path, str]] = []
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        raw = path.read_bytes()
        recipients = re.findall(rb"^X-Envelope-To: (\S+)\r?$", raw.split(b"\r\n\r\n", 1)[0], re.MULTILINE)
        line = announcement(raw, [r.decode() for r in recipients])
        if line:
            found.append((path, line))
        if len(found) >= limit:
            break
    return reversed(found)


def run_sink(outbox: Path, host: str = "127.0.0.1", port: int = 8025) -> None:
    """Serve until Ctrl-C or SIGTERM, quietly: a signal only sets an event, so no KeyboardInterrupt lands mid-GC."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C reaches the whole group, then `newsletter run` sends TERM
        signal.signal(signum, lambda *_: stop.set())
    controller = Controller(OutboxHandler(outbox), hostname=host, port=port)
    controller.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        controller.stop()
