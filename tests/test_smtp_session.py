"""The bulk SMTP session against real servers: STARTTLS, implicit TLS, AUTH, dropped and recycled connections."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time

import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from service.core.config import SmtpTarget
from service.delivery.smtp_session import ConnectionLost, SmtpSession, SmtpUnavailable, Withheld
from service.delivery.throttle import Throttle
from tests.support.ports import free_port

MESSAGE = b"Subject: hello\r\nMessage-ID: <m@x>\r\n\r\nbody line\r\n..a stuffed dot line\r\n"


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(folder / "key.pem"),
            "-out",
            str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


class Recorder:
    """An aiosmtpd handler remembering connections and messages."""

    def __init__(self):
        self.messages: list[tuple[str, bytes]] = []
        self.peers: set = set()

    @property
    def connections(self) -> int:
        """Distinct client connections that delivered something (one client port each)."""
        return len(self.peers)

    async def handle_DATA(self, server, session, envelope):
        """Keep the message as the server stored it (dot-stuffing undone)."""
        self.messages.append((envelope.rcpt_tos[0], envelope.original_content))
        self.peers.add(session.peer)
        return "250 2.0.0 stored"


def _authenticator(server, session, envelope, mechanism, auth_data):
    """Only user/secret may send."""
    return AuthResult(success=auth_data.login == b"user" and auth_data.password == b"secret")


def _serve(handler, **kwargs) -> Controller:
    """Start a real SMTP server on a free port."""
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


def test_starttls_with_auth_sends_many_messages_on_one_connection(tls_context):
    handler = Recorder()
    server = _serve(
        handler, tls_context=tls_context, require_starttls=True, auth_required=True, authenticator=_authenticator
    )
    try:
        session = SmtpSession(
            SmtpTarget.from_url(f"smtp://user:secret@127.0.0.1:{server.port}?starttls=true&verify=false"),
            max_messages=100,
        )
        replies = [session.send("news@example.org", f"r{n}@example.org", MESSAGE) for n in range(5)]
        session.close()
    finally:
        server.stop()
    assert [r.code for r in replies] == [250] * 5 and "stored" in replies[0].text
    assert handler.connections == 1
    assert handler.messages[0][1].endswith(b"body line\r\n.a stuffed dot line\r\n")


def test_implicit_tls_and_a_wrong_password(tls_context):
    handler = Recorder()
    server = _serve(
        handler, ssl_context=tls_context, auth_required=True, authenticator=_authenticator, auth_require_tls=False
    )
    try:
        good = SmtpSession(SmtpTarget.from_url(f"smtps://user:secret@127.0.0.1:{server.port}?verify=false"), 10)
        assert good.send("news@example.org", "a@example.org", MESSAGE).code == 250
        good.close()
        bad = SmtpSession(SmtpTarget.from_url(f"smtps://user:wrong@127.0.0.1:{server.port}?verify=false&timeout=3"), 10)
        with pytest.raises(SmtpUnavailable):
            bad.send("news@example.org", "b@example.org", MESSAGE)
    finally:
        server.stop()
    assert [rcpt for rcpt, _ in handler.messages] == ["a@example.org"]


def test_connection_is_recycled_after_its_quota_and_reopened_after_a_drop():
    handler = Recorder()
    server = _serve(handler)
    try:
        session = SmtpSession(SmtpTarget.from_url(f"smtp://127.0.0.1:{server.port}"), max_messages=3)
        for n in range(7):
            session.send("news@example.org", f"r{n}@example.org", MESSAGE)
        assert handler.connections == 3, "7 messages at 3 per connection"
        session._connection.sock.shutdown(socket.SHUT_RDWR)  # the connection vanishes under the session
        with pytest.raises(ConnectionLost):
            session.send("news@example.org", "lost@example.org", MESSAGE)
        assert session.send("news@example.org", "after@example.org", MESSAGE).code == 250
        session.close()
    finally:
        server.stop()
    assert handler.connections == 4
    assert [rcpt for rcpt, _ in handler.messages][-1] == "after@example.org"


def test_unreachable_server_is_reported_without_sending():
    session = SmtpSession(SmtpTarget.from_url(f"smtp://127.0.0.1:{free_port()}"), 10)
    with pytest.raises(SmtpUnavailable):
        session.send("news@example.org", "a@example.org", MESSAGE)


def test_send_rate_is_shared_by_all_workers_through_redis():
    redis_url = "redis://127.0.0.1:6379/13"
    key = f"test-bucket-{time.monotonic_ns()}"
    rate, per_worker = 100.0, 100
    throttles = [Throttle(rate, redis_url, key=key) for _ in range(2)]
    started = time.monotonic()
    threads = [threading.Thread(target=lambda t=t: [t.acquire() for _ in range(per_worker)]) for t in throttles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    redis.Redis.from_url(redis_url).delete(key)
    # 200 sends at 100/s with a one-second burst allowance take at least one second in all
    assert elapsed >= 0.9, f"200 sends took {elapsed:.2f} s: the limit was not shared"


class PipeliningRecorder(Recorder):
    """A Recorder that advertises PIPELINING and refuses one chosen recipient."""

    refuse = "refused@example.org"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        """Say PIPELINING, as Postfix does."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        """One recipient does not exist."""
        if address == self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_pipelined_envelopes_ride_with_the_previous_message():
    handler = PipeliningRecorder()
    server = _serve(handler)
    recipients = ["a@example.org", "b@example.org", PipeliningRecorder.refuse, "c@example.org", "d@example.org"]
    try:
        session = SmtpSession(SmtpTarget.from_url(f"smtp://127.0.0.1:{server.port}"), max_messages=100)
        replies = []
        for position, rcpt in enumerate(recipients):
            after = recipients[position + 1] if position + 1 < len(recipients) else None
            replies.append(session.send("news@example.org", rcpt, MESSAGE + rcpt.encode() + b"\r\n", then=after))
        # a caller that changes its mind (the next reader was skipped) gets a clean connection, not a stray envelope
        session.send("news@example.org", "e@example.org", MESSAGE, then="never-sent@example.org")
        replies.append(session.send("news@example.org", "f@example.org", MESSAGE))
        session.close()
    finally:
        server.stop()
    assert [r.code for r in replies] == [250, 250, 550, 250, 250, 250]
    stored = [(rcpt, body.rsplit(b"\r\n", 2)[-2]) for rcpt, body in handler.messages]
    assert stored[:4] == [(r, r.encode()) for r in recipients if r != PipeliningRecorder.refuse]
    assert [rcpt for rcpt, _ in handler.messages] == [
        "a@example.org",
        "b@example.org",
        "c@example.org",
        "d@example.org",
        "e@example.org",
        "f@example.org",
    ]


def test_a_message_whose_release_is_refused_never_reaches_the_server():
    """Proves: content goes out early, but without its final dot the server keeps nothing (a crash-safe hold)."""
    handler = PipeliningRecorder()
    server = _serve(handler)
    try:
        session = SmtpSession(SmtpTarget.from_url(f"smtp://127.0.0.1:{server.port}"), max_messages=100)
        assert session.send("news@example.org", "a@example.org", MESSAGE, then="b@example.org").code == 250
        with pytest.raises(Withheld):  # the previous record was not committed: this one must not complete
            session.send(
                "news@example.org", "b@example.org", MESSAGE + b"held\r\n", then="c@example.org", release=lambda: False
            )

        def database_down() -> bool:
            raise OSError("the database went away")

        with pytest.raises(Withheld) as withheld:
            session.send("news@example.org", "c@example.org", MESSAGE, release=database_down)
        assert isinstance(withheld.value.__cause__, OSError), "the caller's own error comes back to it"
        assert session.send("news@example.org", "d@example.org", MESSAGE, release=lambda: True).code == 250
        session.close()
        time.sleep(0.2)  # the server notices the dropped connections
    finally:
        server.stop()
    assert [rcpt for rcpt, _ in handler.messages] == ["a@example.org", "d@example.org"]


def test_content_left_without_its_dot_is_never_delivered_however_the_session_ends():
    """Proves: between write_content and final_dot, withhold or a plain close (a drain stopping on an error) drops
    the message; a polite QUIT there would have become part of it."""
    handler = PipeliningRecorder()
    server = _serve(handler)
    try:
        session = SmtpSession(SmtpTarget.from_url(f"smtp://127.0.0.1:{server.port}"), max_messages=100)
        assert session.write_content("news@example.org", "a@example.org", MESSAGE, then="b@example.org") is None
        assert session.final_dot().code == 250
        assert session.write_content("news@example.org", "b@example.org", MESSAGE) is None
        session.withhold()
        assert session.write_content("news@example.org", "c@example.org", MESSAGE) is None
        started = time.monotonic()
        session.close()  # polite by default, but a message is waiting: the connection is dropped, not QUIT
        # a QUIT mid-DATA would wait out the session's 30 s timeout; 10 s leaves a busy machine room and still sees it
        assert time.monotonic() - started < 10, "close never waits for a reply the server cannot give mid-DATA"
        assert session.write_content("news@example.org", "d@example.org", MESSAGE) is None
        assert session.final_dot().code == 250
        session.close()
        time.sleep(0.2)  # the server notices the dropped connections
    finally:
        server.stop()
    assert [rcpt for rcpt, _ in handler.messages] == ["a@example.org", "d@example.org"]
