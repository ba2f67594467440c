"""The IMAP input against a real Dovecot started here: unseen bounces taken in once, then flagged \\Seen."""

from __future__ import annotations

import imaplib
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select

from service.bounce_intake.imap import poll_mailbox
from service.bounces.models import Bounce
from service.core.celery_app import beat_schedule
from service.mail import suppressions
from tests.support.bounce_reports import FIXTURES, _reader, dsn, proven
from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.sqlite_twin  # issue 20: storage on both databases


@pytest.fixture
def dovecot():
    """Dovecot in the foreground on a free port, one user, a Maildir in tmp (a missing binary fails).

    Its own temp dir, not pytest's: under root, pytest's is 0700 and Dovecot's unprivileged processes could not
    enter it.
    """
    root = Path(tempfile.mkdtemp(prefix="dovecot-test-"))
    server = Dovecot(root).start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def _append(server: Dovecot, *messages: bytes) -> None:
    """Deliver messages into the bounce mailbox, as the MX would."""
    connection = imaplib.IMAP4("127.0.0.1", server.port)
    connection.login(server.user, server.password)
    for message in messages:
        connection.append("INBOX", None, None, message)
    connection.logout()


def _seen(server: Dovecot) -> int:
    """How many messages in the mailbox carry \\Seen."""
    connection = imaplib.IMAP4("127.0.0.1", server.port)
    connection.login(server.user, server.password)
    connection.select("INBOX")
    _, found = connection.search(None, "SEEN")
    connection.logout()
    return len((found[0] or b"").split())


def test_beat_polls_the_mailbox_and_each_message_is_taken_once(dovecot, settings, db, world_news):
    reader = _reader(db, world_news, "imap-gone@example.org")
    victim = _reader(db, world_news, "imap-victim@example.org")
    configured = settings.model_copy(update={"bounce_imap_url": dovecot.url})
    assert "poll-bounces" in beat_schedule(configured) and "poll-bounces" not in beat_schedule(settings)
    _append(
        dovecot,
        dsn("imap-gone@example.org", "5.1.1", to=proven(settings, reader)),
        (FIXTURES / "flufl_qmail_08.eml").read_bytes(),
        dsn(victim.email, "5.1.1"),  # anyone can mail the bounce address: no token, so it proves nothing
    )

    assert poll_mailbox(configured) == 3
    db.expire_all()
    assert suppressions.lookup(db, "imap-gone@example.org").reason == "hard bounce 5.1.1"
    assert not suppressions.is_suppressed(db, victim.email), "a forged report in the mailbox changes nobody"
    rows = sorted((b.kind, b.review or "") for b in db.scalars(select(Bounce)))
    assert rows == [("hard", ""), ("hard", "no token or message-id"), ("unparsed", "unparsed")]
    assert all(b.source == "imap" for b in db.scalars(select(Bounce)))
    assert _seen(dovecot) == 3, "processed messages are flagged"
    assert poll_mailbox(configured) == 0, "nothing is taken in twice"

    _append(dovecot, (FIXTURES / "flufl_dsn_05.eml").read_bytes())
    assert poll_mailbox(configured) == 1
    db.expire_all()
    assert len(list(db.scalars(select(Bounce)))) == 4
