"""One reusable SMTP connection for bulk sending: pipelined envelope, pre-stuffed DATA, re-opened when needed."""
from __future__ import annotations

import smtplib
import socket
from dataclasses import dataclass

from service.config import SmtpTarget
from service.smtp import open_connection

NETWORK_ERRORS = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, smtplib.SMTPHeloError,
                  socket.timeout, ConnectionError, OSError)


class SmtpUnavailable(Exception):
    """No connection could be opened: nothing was sent, the whole batch waits for a retry."""


class ConnectionLost(Exception):
    """An open connection broke mid-message; whether the server kept the message is unknown."""


@dataclass(frozen=True)
class Reply:
    """The server's last word on one message."""

    code: int
    text: str


class SmtpSession:
    """Sends many messages over one connection; callers never see connection management."""

    def __init__(self, target: SmtpTarget, max_messages: int):
        self.target = target
        self.max_messages = max(1, max_messages)
        self._connection: smtplib.SMTP | None = None
        self._sent_on_connection = 0
        self._pipelining = False

    def _open(self) -> smtplib.SMTP:
        """Connect (TLS and AUTH as configured) and learn whether the server pipelines (RFC 2920)."""
        try:
            connection = open_connection(self.target)
            connection.ehlo_or_helo_if_needed()
        except (smtplib.SMTPException, OSError) as error:
            raise SmtpUnavailable(f"cannot connect to {self.target.host}:{self.target.port}: {error}") from error
        self._pipelining = connection.has_extn("pipelining")
        self._sent_on_connection = 0
        return connection

    def send(self, sender: str, recipient: str, payload: bytes) -> Reply:
        """Deliver one dot-stuffed message ending in CRLF; returns the reply to the first refusal or to DATA."""
        if self._connection is None:
            self._connection = self._open()
        connection = self._connection
        try:
            replies = self._envelope(connection, sender, recipient)
            refusal = next((r for r, ok in zip(replies, (250, 250, 354)) if r.code != ok and
                            not (ok == 250 and r.code == 251)), None)
            if refusal is not None:
                self._after_refusal(connection, replies)
                return refusal
            connection.send(payload + b".\r\n")
            code, text = connection.getreply()
        except NETWORK_ERRORS as error:
            self.close(polite=False)
            raise ConnectionLost(str(error) or type(error).__name__) from error
        self._sent_on_connection += 1
        if code == 421 or self._sent_on_connection >= self.max_messages:
            self.close(polite=code != 421)
        return Reply(code, text.decode("utf-8", "replace"))

    def _envelope(self, connection: smtplib.SMTP, sender: str, recipient: str) -> list[Reply]:
        """MAIL, RCPT and DATA: in one write when the server pipelines, else one by one."""
        commands = [f"MAIL FROM:<{sender}>", f"RCPT TO:<{recipient}>", "DATA"]
        if self._pipelining:
            connection.send(("\r\n".join(commands) + "\r\n").encode("ascii"))
            return [Reply(*_decoded(connection.getreply())) for _ in commands]
        replies = []
        for command, ok in zip(commands, (250, 250, 354)):
            connection.putcmd(command)
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
        """QUIT when the connection is healthy, else just drop it."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if polite:
                connection.quit()
            else:
                connection.close()
        except NETWORK_ERRORS + (smtplib.SMTPException,):
            connection.close()


def _decoded(reply: tuple[int, bytes]) -> tuple[int, str]:
    """smtplib gives bytes; the ledger stores text."""
    code, text = reply
    return code, text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
