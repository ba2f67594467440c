"""The IMAP input: beat polls the bounce mailbox; each unseen message is taken in, then flagged \\Seen.

A message is flagged only after its bounce rows are committed, so a crash in between takes it in
again next time, and the duplicate is recognised by its hash (nothing is applied twice).
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from service.core.config import ConfigError, Settings
from service.core.db import session_scope

log = logging.getLogger(__name__)
BATCH = 200  # messages per poll; the next poll takes the rest


@dataclass(frozen=True)
class ImapTarget:
    """Where the bounce mailbox is, from BOUNCE_IMAP_URL."""

    host: str
    port: int
    username: str
    password: str
    mailbox: str
    implicit_tls: bool

    @classmethod
    def from_url(cls, url: str) -> ImapTarget:
        """imaps://user:pass@host[:993]/INBOX, or imap://... (plain, for a local server)."""
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
            raise ConfigError("BOUNCE_IMAP_URL must look like imaps://user:pass@host/INBOX")
        implicit = parts.scheme == "imaps"
        return cls(
            parts.hostname,
            parts.port or (993 if implicit else 143),
            unquote(parts.username),
            unquote(parts.password or ""),
            unquote(parts.path.lstrip("/")) or "INBOX",
            implicit,
        )


def _connect(target: ImapTarget) -> imaplib.IMAP4:
    """A logged-in connection with the mailbox selected."""
    if target.implicit_tls:
        context = ssl.create_default_context()
        connection: imaplib.IMAP4 = imaplib.IMAP4_SSL(target.host, target.port, ssl_context=context, timeout=30)
    else:
        connection = imaplib.IMAP4(target.host, target.port, timeout=30)
    connection.login(target.username, target.password)
    status, _ = connection.select(f'"{target.mailbox}"')
    if status != "OK":
        raise imaplib.IMAP4.error(f"cannot select mailbox {target.mailbox!r}")
    return connection


def poll_mailbox(settings: Settings) -> int:
    """Take in every unseen message (up to BATCH); returns how many."""
    from service.bounce_intake.process import ingest

    assert settings.bounce_imap_url, "BOUNCE_IMAP_URL is not set"
    connection = _connect(ImapTarget.from_url(settings.bounce_imap_url))
    taken = 0
    try:
        _, found = connection.uid("SEARCH", "UNSEEN")
        for uid in (item.decode() for item in (found[0] or b"").split()[:BATCH]):
            status, data = connection.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in data if isinstance(item, tuple)), None)
            if status != "OK" or raw is None:
                log.warning("bounce mailbox: message %s could not be fetched", uid)
                continue
            with session_scope(settings.effective_database_url) as session:
                ingest(session, raw, settings=settings, source="imap")
            connection.uid("STORE", uid, "+FLAGS", "(\\Seen)")
            taken += 1
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            connection.logout()
    return taken
