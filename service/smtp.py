"""SMTP connections from an SmtpTarget: plain, STARTTLS or implicit TLS, with optional AUTH."""
from __future__ import annotations

import smtplib
import ssl
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Iterator

from service.config import SmtpTarget


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


def send_one(target: SmtpTarget, message: EmailMessage) -> None:
    """Deliver a single transactional message on its own connection."""
    with connection_to(target) as connection:
        connection.send_message(message)
