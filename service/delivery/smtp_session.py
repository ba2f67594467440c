"""One reusable SMTP connection for bulk sending: pipelined envelope, pre-stuffed DATA, re-opened when needed."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass

from service.core.config import SmtpTarget
from service.mail.smtp import open_connection

NETWORK_ERRORS = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    smtplib.SMTPHeloError,
    socket.timeout,
    ConnectionError,
    OSError,
)


class SmtpUnavailable(Exception):
    """No connection could be opened: nothing was sent, the whole batch waits for a retry."""


class AddressNotSupported(Exception):
    """This recipient needs SMTPUTF8 (a non-ASCII local part) and the server does not offer it: fail the row only."""


class ConnectionLost(Exception):
    """An open connection broke mid-message; whether the server kept the message is unknown."""


class Withheld(Exception):
    """The caller refused the final dot: the content was sent but the transaction dropped, so nothing went out."""


@dataclass(frozen=True)
class Reply:
    """The server's last word on one message."""

    code: int
    text: str


class SmtpSession:
    """Sends many messages over one connection; callers never see connection management.

    With PIPELINING, the next message's envelope (MAIL, RCPT, DATA) goes out in the same write as this
    message's final dot (RFC 2920 allows content to lead a group), so each message costs one round trip
    instead of two. A message goes out in two calls: `write_content` as soon as the server asks for it,
    `final_dot` once the caller says so (the sender: once the previous message is recorded). The server
    digests the content while the database commits, and content without its dot (or an envelope without
    content) delivers nothing if the worker dies.
    """

    def __init__(self, target: SmtpTarget, max_messages: int):
        self.target = target
        self.max_messages = max(1, max_messages)
        self._connection: smtplib.SMTP | None = None
        self._sent_on_connection = 0
        self._pipelining = False
        self._ahead: tuple[str, str] | None = None  # (sender, recipient) whose envelope is already on the wire
        self._waiting = False  # a message's content is on the wire without its final dot
        self._then: tuple[str, str] | None = None  # the envelope to send with that dot

    def _open(self) -> smtplib.SMTP:
        """Connect (TLS and AUTH as configured) and learn whether the server pipelines (RFC 2920)."""
        try:
            connection = open_connection(self.target)
            connection.ehlo_or_helo_if_needed()
        except (smtplib.SMTPException, OSError) as error:
            raise SmtpUnavailable(f"cannot connect to {self.target.host}:{self.target.port}: {error}") from error
        if connection.sock is not None:  # the final dot is a small write of its own: never hold it for an ACK
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._pipelining = connection.has_extn("pipelining")
        self._sent_on_connection = 0
        return connection

    def write_content(
        self,
        sender: str,
        recipient: str,
        payload: bytes,
        then: tuple[str, str] | str | None = None,
        smtputf8: bool = False,
    ) -> Reply | None:
        """The envelope and one dot-stuffed message ending in CRLF, without its final dot: None once the content is
        on the wire (`final_dot` completes it, `withhold` drops it), else the server's refusal.

        `then` is the caller's next message's (sender, recipient) pair, plain ASCII (VERP gives each message its
        own sender), or just its recipient when the sender is the same: its envelope goes out with the final dot.
        `smtputf8` asks for RFC 6531 (AddressNotSupported when the server does not offer it).
        """
        if self._ahead is not None and self._ahead != (sender, recipient):
            self.close(polite=False)  # an envelope we will not use: never give it content, drop it
        if self._connection is None:
            self._connection = self._open()
        connection = self._connection
        if smtputf8 and not connection.has_extn("smtputf8"):
            raise AddressNotSupported(f"{self.target.host} does not offer SMTPUTF8, needed for {recipient}")
        try:
            if self._ahead is not None:
                self._ahead = None
                replies = [Reply(*_decoded(connection.getreply())) for _ in range(3)]
            else:
                replies = self._envelope(connection, sender, recipient, smtputf8)
            refusal = next(
                (
                    r
                    for r, ok in zip(replies, (250, 250, 354), strict=False)
                    if r.code != ok and not (ok == 250 and r.code == 251)
                ),
                None,
            )
            if refusal is not None:
                self._after_refusal(connection, replies)
                return refusal
            pair = (sender, then) if isinstance(then, str) else then
            self._then = (
                pair
                if pair is not None
                and all(part.isascii() for part in pair)
                and self._pipelining
                and self._sent_on_connection + 1 < self.max_messages
                else None
            )
            self._waiting = True
            connection.send(payload)
        except NETWORK_ERRORS as error:
            self.close(polite=False)
            raise ConnectionLost(str(error) or type(error).__name__) from error
        return None

    def final_dot(self) -> Reply:
        """Complete the message `write_content` left open (the next envelope rides along) and read the reply."""
        connection, ahead = self._connection, self._then
        if connection is None or not self._waiting:
            raise RuntimeError("no message is waiting for its final dot")
        self._waiting, self._then = False, None
        try:
            connection.send(b"".join((b".\r\n", _commands(*ahead) if ahead is not None else b"")))
            code, text = connection.getreply()
        except NETWORK_ERRORS as error:
            self.close(polite=False)
            raise ConnectionLost(str(error) or type(error).__name__) from error
        self._ahead = ahead
        self._sent_on_connection += 1
        if code == 421 or self._sent_on_connection >= self.max_messages:
            self.close(polite=code != 421)
        return Reply(code, text.decode("utf-8", "replace"))

    def withhold(self) -> None:
        """Drop the connection before the final dot, so the server discards the content (nothing waits: no-op)."""
        if self._waiting:
            self.close(polite=False)

    def send(
        self,
        sender: str,
        recipient: str,
        payload: bytes,
        then: tuple[str, str] | str | None = None,
        smtputf8: bool = False,
        release: Callable[[], bool] | None = None,
    ) -> Reply:
        """One message in one call (see write_content): `release` runs before the final dot, and False or an
        exception drops the connection mid-DATA, so the server discards the message, and raises Withheld (with
        release's exception as its cause). Returns the reply to the first refusal or to DATA."""
        refusal = self.write_content(sender, recipient, payload, then=then, smtputf8=smtputf8)
        if refusal is not None:
            return refusal
        self._release(release)
        return self.final_dot()

    def _release(self, release: Callable[[], bool] | None) -> None:
        """Ask the caller whether this message may be completed; if not, drop the connection before the dot."""
        try:
            if release is None or release():
                return
        except Exception as error:  # the caller's own failure (its database, say): it comes back as the cause
            self.close(polite=False)
            raise Withheld(f"dropped before its final dot: {error}") from error
        self.close(polite=False)
        raise Withheld("the previous message was not recorded: this one was dropped before its final dot")

    def _envelope(self, connection: smtplib.SMTP, sender: str, recipient: str, smtputf8: bool) -> list[Reply]:
        """MAIL, RCPT and DATA: in one write when the server pipelines, else one by one."""
        if self._pipelining:
            connection.send(_commands(sender, recipient, smtputf8))
            return [Reply(*_decoded(connection.getreply())) for _ in range(3)]
        replies = []
        for command, ok in zip(_commands(sender, recipient, smtputf8).split(b"\r\n"), (250, 250, 354), strict=False):
            connection.send(command + b"\r\n")
            replies.append(Reply(*_decoded(connection.getreply())))
            if replies[-1].code not in (ok, 251):
                break
        return replies

    def _after_refusal(self, connection: smtplib.SMTP, replies: list[Reply]) -> None:
        """Leave the connection ready for the next message (or drop it if the server is in a bad state)."""
        if any(r.code == 354 for r in replies) or any(r.code == 421 for r in replies):
            self.close(polite=False)  # never leave a half-open DATA: no empty message is ever sent
            return
        try:
            connection.rset()
        except NETWORK_ERRORS:
            self.close(polite=False)

    def close(self, polite: bool = True) -> None:
        """QUIT when the connection is healthy, else just drop it (always with an envelope ahead or content waiting)."""
        connection, self._connection = self._connection, None
        ahead, self._ahead = self._ahead, None
        waiting, self._waiting, self._then = self._waiting, False, None
        if connection is None:
            return
        try:
            if polite and ahead is None and not waiting:  # QUIT after content would become part of the message
                connection.quit()
            else:
                connection.close()
        except (*NETWORK_ERRORS, smtplib.SMTPException):
            connection.close()


def _commands(sender: str, recipient: str, smtputf8: bool = False) -> bytes:
    """One message's envelope as a pipelined group (UTF-8 only under SMTPUTF8; else non-ASCII cannot pass)."""
    if smtputf8:
        return f"MAIL FROM:<{sender}> SMTPUTF8\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode()
    return f"MAIL FROM:<{sender}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode("ascii")


def _decoded(reply: tuple[int, bytes]) -> tuple[int, str]:
    """smtplib gives bytes; the ledger stores text."""
    code, text = reply
    return code, text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
