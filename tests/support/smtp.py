"""A real SMTP server for tests: aiosmtpd on a free port, recording envelopes and parsed messages."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email import message_from_bytes, message_from_string, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.support.ports import free_port


@dataclass
class Received:
    """One accepted message: who it was for on the envelope, and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage


class RecordingSmtpServer:
    """Accepts everything and remembers it; `reply_for` can make chosen recipients fail.

    It offers SMTPUTF8 (RFC 6531, aiosmtpd's Controller default) unless told otherwise.
    """

    def __init__(self, *, smtputf8: bool = True):
        self.port = free_port()
        self.received: list[Received] = []
        self.reply_for: dict[str, str] = {}
        self._lock = threading.Lock()
        self.settle: Callable[[], None] = lambda: None  # the mailbox fixture: wait until the worker has no task
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=smtputf8)

    def start(self) -> None:
        """Listen."""
        self._controller.start()

    def stop(self) -> None:
        """Stop listening."""
        self._controller.stop()

    def caught_up(self, timeout: float = 10.0) -> None:
        """Once the server's event loop has handled everything it had read so far (a message whose final dot
        arrived is recorded): two turns of its loop, awaited, instead of a guess at the time."""
        for _ in range(2):
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self._controller.loop).result(timeout)

    def offer_smtputf8(self, offered: bool) -> None:
        """Offer SMTPUTF8 (or not) on connections opened from now on."""
        self._controller.SMTP_kwargs["enable_SMTPUTF8"] = offered

    def clear(self) -> None:
        """Forget what was received and any scripted replies."""
        with self._lock:
            self.received.clear()
            self.reply_for.clear()

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        """Advertise PIPELINING (RFC 2920) as Postfix does, so the bulk sender's pipelined path is the one tested."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        """Accept a recipient unless a test scripted a refusal for it."""
        reply = self.reply_for.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        """Record the message."""
        raw = envelope.original_content
        if envelope.smtp_utf8:  # RFC 6532: headers are UTF-8, as a mail client reads them
            parsed = message_from_string(raw.decode("utf-8", "surrogateescape"), policy=policy.default)
        else:
            parsed = message_from_bytes(raw, policy=policy.default)
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed))
        return "250 Message accepted"

    def messages_to(self, address: str) -> list[Received]:
        """Everything received for one recipient so far."""
        with self._lock:
            return [r for r in self.received if address.lower() in (t.lower() for t in r.rcpt_tos)]

    def wait_for(self, address: str, count: int = 1, timeout: float = 20.0) -> list[Received]:
        """Wait until `count` messages for `address` have arrived; fail the test otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages_to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} message(s) for {address}, got {len(self.messages_to(address))}")

    def wait_for_each(self, addresses: Iterable[str], timeout: float = 60.0) -> None:
        """Wait until every address has received at least one message; fail the test naming those still waiting."""
        deadline = time.monotonic() + timeout
        waiting = list(addresses)
        while waiting := [address for address in waiting if not self.messages_to(address)]:
            if time.monotonic() >= deadline:
                raise AssertionError(f"no message after {timeout:.0f} s for {', '.join(waiting)}")
            time.sleep(0.05)

    def assert_nothing_for(self, address: str) -> None:
        """Once every task queued so far is done (an event, not a guess at the time), nobody wrote to this address."""
        self.settle()
        assert self.messages_to(address) == [], f"unexpected mail to {address}"


class CountingSmtpServer(RecordingSmtpServer):
    """For thousands of messages: keeps only each message's recipients and Message-ID, nothing parsed."""

    def __init__(self):
        super().__init__()
        self.deliveries: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):
        """Record (recipient, Message-ID) pairs."""
        head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
        found = re.search(rb"^Message-ID:\s*(\S+)", head, re.IGNORECASE | re.MULTILINE)
        message_id = found.group(1).decode() if found else ""
        with self._lock:
            self.deliveries.extend((rcpt.lower(), message_id) for rcpt in envelope.rcpt_tos)
        return "250 Message accepted"

    def count(self) -> int:
        """Messages accepted so far."""
        with self._lock:
            return len(self.deliveries)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self.deliveries.clear()
        super().clear()
