"""SMTP connections from an SmtpTarget: plain, STARTTLS or implicit TLS, with optional AUTH."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import EmailPolicy

from service.core.config import SmtpTarget
from service.core.mail_headers import PreparedHeader


class NeedsSmtpUtf8(smtplib.SMTPNotSupportedError):
    """The address needs SMTPUTF8 (RFC 6531) and this server does not offer it: a permanent failure, not a retry."""


def _tls_context(target: SmtpTarget) -> ssl.SSLContext:
    """Verified TLS unless the URL says verify=false (self-signed test servers)."""
    context = ssl.create_default_context()
    if not target.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def open_connection(target: SmtpTarget) -> smtplib.SMTP:
    """An authenticated, ready-to-send connection."""
    if target.implicit_tls:
        connection: smtplib.SMTP = smtplib.SMTP_SSL(
            target.host, target.port, timeout=target.timeout, context=_tls_context(target)
        )
    else:
        connection = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
        if target.starttls:
            connection.starttls(context=_tls_context(target))
    if target.username:
        connection.login(target.username, target.password or "")
    return connection


@contextmanager
def connection_to(target: SmtpTarget) -> Iterator[smtplib.SMTP]:
    """A connection that is closed politely (QUIT) when done."""
    connection = open_connection(target)
    try:
        yield connection
    finally:
        try:
            connection.quit()
        except smtplib.SMTPException:
            connection.close()


def wire_bytes(message: EmailMessage) -> tuple[bytes, bool]:
    """The message as it goes on the wire (DKIM-signed when configured), and whether it needs SMTPUTF8."""
    sender, recipient = message["From"], message["To"]
    if not isinstance(sender, PreparedHeader) or not isinstance(recipient, PreparedHeader):
        raise TypeError("build messages with service.mail.emails.build_message (From and To by mail_headers)")
    if not isinstance(message.policy, EmailPolicy):
        raise TypeError("build messages with service.mail.emails.build_message (an EmailPolicy, not compat32)")
    utf8 = sender.smtputf8 or recipient.smtputf8
    data = message.as_bytes(policy=message.policy.clone(linesep="\r\n", utf8=utf8))
    signer = getattr(message.policy, "dkim", None)  # emails.MailPolicy: DKIM-Signature over these very bytes
    return (signer.sign(data) + data if signer else data), utf8


def send_one(target: SmtpTarget, message: EmailMessage, envelope_from: str | None = None) -> None:
    """Deliver one transactional message on its own connection, its envelope from its From (or VERP) and To.

    Addresses go out in wire form (IDNA domains); a non-ASCII local part goes with SMTPUTF8 and UTF-8
    headers when the server offers it, else NeedsSmtpUtf8 is raised (a permanent failure).
    """
    data, utf8 = wire_bytes(message)
    sender, recipient = envelope_from or message["From"].address, message["To"].address
    with connection_to(target) as connection:
        connection.ehlo_or_helo_if_needed()
        if utf8 and not connection.has_extn("smtputf8"):
            raise NeedsSmtpUtf8(f"{target.host} does not offer SMTPUTF8, needed for {recipient}")
        connection.sendmail(sender, [recipient], data, mail_options=["SMTPUTF8"] if utf8 else [])
