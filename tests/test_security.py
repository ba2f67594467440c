"""The holes of the security review, each tried as an attacker or a careless operator would, on the real app."""

from __future__ import annotations

import socket
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from service.editions import build_edition
from service.models import EditionStatus
from service.web.app import create_app
from service.web.server import server_config
from tests.support.apps import shared_app
from tests.support.edition_stories import add_story
from tests.support.ports import free_port
from tests.support.web import confirmed_reader, csrf_from, subscribe_by_form

ADMIN_TOKEN = "an-admin-token-that-is-long-enough-0123456789"


def unique(label: str) -> str:
    """An address no other test uses."""
    return f"{label}-{uuid.uuid4().hex[:10]}@example.com"


def api_subscribe(client, **fields):
    """POST /api/subscriptions with the demo list unless told otherwise."""
    return client.post("/api/subscriptions", json={"lists": ["world-news"], **fields})


# --- 1. header injection: stopped at the door ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "=?utf-8?q?Ann=0D=0AReply-To:_attacker@evil.example?=",
        "=?UTF-8?B?QW5uDQpSZXBseS1UbzogYXR0YWNrZXJAZXZpbC5leGFtcGxl?=",
        "Ann\r\nReply-To: attacker@evil.example",
    ],
)
def test_a_name_that_smuggles_headers_is_refused_and_sends_nothing(client, world_news, mailbox, name):
    email = unique("injected")
    answer = api_subscribe(client, email=email, name=name)
    assert answer.status_code == 422 and answer.json()["error"] == "invalid_input", answer.text
    mailbox.assert_nothing_for(email)
    mailbox.assert_nothing_for("attacker@evil.example")


# --- 5. only editions that have gone out are public ----------------------------------------------------------------


@pytest.mark.parametrize("status", [EditionStatus.draft, EditionStatus.cancelled, EditionStatus.paused])
def test_an_edition_that_has_not_gone_out_is_not_public(client, db, settings, world_news, status):
    sent_at = datetime(2026, 3, 9, 7, 0, tzinfo=UTC)
    add_story(db, "Embargoed summit statement", sources=3, received_at=sent_at - timedelta(hours=2))
    edition = build_edition(db, settings=settings, mailing_list=world_news, day=sent_at.date(), now=sent_at)
    edition.send_status = status
    db.commit()
    day = edition.edition_date.isoformat()
    assert client.get(f"/archive/world-news/{day}").status_code == 404
    assert f"/archive/world-news/{day}" not in client.get("/archive").text
    assert "Embargoed summit statement" not in client.get("/archive/world-news/feed.xml").text

    edition.send_status = EditionStatus.complete
    db.commit()
    assert "Embargoed summit statement" in client.get(f"/archive/world-news/{day}").text
    assert "Embargoed summit statement" in client.get("/archive/world-news/feed.xml").text


# --- 6. the answer's timing does not tell a known address from a new one --------------------------------------------


def test_subscribe_takes_as_long_for_a_known_address_as_for_a_new_one(client, settings, world_news, mailbox):
    known = unique("known")
    confirmed_reader(client, mailbox, known)
    client = TestClient(shared_app(settings.model_copy(update={"subscribe_limit_per_ip": "1000/hour"})))
    new_times, known_times = [], []
    for _ in range(25):  # interleaved, so the machine's ups and downs hit both alike
        for email, times in ((unique("new"), new_times), (known, known_times)):
            started = time.perf_counter()
            assert api_subscribe(client, email=email).status_code == 202
            times.append(time.perf_counter() - started)
    new_ms, known_ms = statistics.median(new_times) * 1000, statistics.median(known_times) * 1000
    print(f"\n[subscribe timing] median new {new_ms:.2f} ms, known {known_ms:.2f} ms")
    assert 0.67 < new_ms / known_ms < 1.5, f"new {new_ms:.2f} ms against known {known_ms:.2f} ms"


# --- 7. security headers and the CSRF cookie ------------------------------------------------------------------------


def test_pages_forbid_framing_sniffing_and_referrer_leaks(client, world_news):
    page = client.get("/subscribe")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0], (
        "only our own script files may run (the subscribe form's time zone), never inline script"
    )
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and missing.headers["x-frame-options"] == "DENY"
    assert "text/html" in missing.headers["content-type"], "an unknown URL is a page, not FastAPI's JSON"


def test_https_sites_tell_browsers_to_stay_on_https(settings, world_news):
    assert "strict-transport-security" not in TestClient(shared_app(settings)).get("/subscribe").headers, (
        "a plain-http site (development) must not pin browsers to https"
    )
    secure = settings.model_copy(update={"base_url": "https://news.example.org"})
    with TestClient(shared_app(secure), base_url="https://news.example.org") as browser:
        for path in ("/subscribe", "/no/such/page", "/admin/login", "/api/openapi.json"):
            answer = browser.get(path)
            assert answer.headers["strict-transport-security"] == "max-age=31536000", path


def test_options_and_wrong_methods_name_every_method_a_path_takes(client, world_news):
    expected = {
        "/subscribe": "GET, POST, OPTIONS",
        "/api/subscriptions": "POST, OPTIONS",
        "/api/admin/lists": "GET, POST, OPTIONS",
        "/preferences/any-token": "GET, POST, OPTIONS",
        "/static/timezone.js": "GET, HEAD, OPTIONS",
    }
    for path, allow in expected.items():
        answer = client.options(path)
        assert (answer.status_code, answer.headers.get("allow")) == (204, allow), path
        assert answer.headers["x-frame-options"] == "DENY", "security headers as on every answer"
    wrong = client.put("/subscribe")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, POST, OPTIONS", "not only the first route's"
    assert client.delete("/api/admin/lists").headers["allow"] == "GET, POST, OPTIONS"
    assert client.options("/no/such/page").status_code == 404


def test_token_pages_are_never_cached_nor_leak_their_url(client, world_news, mailbox):
    _confirmation, welcome = confirmed_reader(client, mailbox, unique("cache"))
    from tests.support.web import link_path

    for path in (link_path(welcome, "preferences"), link_path(welcome, "unsubscribe")):
        page = client.get(path)
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "same-origin", "a token URL never reaches another site"


def test_csrf_cookie_is_secure_with_the_host_prefix_when_the_site_is_https(settings, db, world_news):
    secure = settings.model_copy(update={"base_url": "https://news.example.org"})
    with TestClient(shared_app(secure), base_url="https://news.example.org") as browser:
        cookie = browser.get("/subscribe").headers["set-cookie"]
    assert cookie.startswith("__Host-nl_csrf=") and "Secure" in cookie and "Path=/" in cookie
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Domain" not in cookie


def test_a_form_posted_from_another_site_is_refused_even_with_a_valid_token(client, world_news, mailbox):
    email = unique("crosssite")
    data = {"csrf_token": csrf_from(client, "/subscribe"), "email": email, "list": "world-news"}
    answer = client.post("/subscribe", data=data, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403 and "Please reload the form" in answer.text
    answer = client.post("/subscribe", data=data, headers={"Referer": "https://evil.example/page"})
    assert answer.status_code == 403
    assert client.post("/subscribe", data=data, headers={"Origin": "http://testserver"}).status_code == 200
    mailbox.wait_for(email)


# --- 8. no 500 on what JSON can carry ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        '{"email": "a@example.com", "lists": ["world-news"], "name": "\\ud800"}',
        '{"email": NaN, "lists": ["world-news"]}',
        '{"email": "a@example.com", "lists": ["world-news"], "timezone": Infinity}',
    ],
)
def test_bodies_that_broke_the_validation_handler_answer_422_in_our_shape(client, world_news, body):
    answer = client.post("/api/subscriptions", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert set(answer.json()) == {"error", "detail"} and answer.json()["error"] == "invalid_input"


def test_an_absurd_source_count_is_a_422_not_an_overflow(settings, db):
    admin = settings.model_copy(update={"admin_token": ADMIN_TOKEN})
    with TestClient(shared_app(admin)) as client:
        answer = client.post(
            "/api/admin/stories",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            json={"title": "T", "key_points": ["p"], "source_count": 99999999999999999999},
        )
    assert answer.status_code == 422 and answer.json()["error"] == "story_format"
    assert "source_count" in answer.json()["detail"]


# --- 9. the admin token cannot be guessed ---------------------------------------------------------------------------


def test_guessing_the_admin_token_is_throttled_per_ip(settings, db):
    admin = settings.model_copy(update={"admin_token": ADMIN_TOKEN, "admin_auth_limit": "5/minute"})
    with TestClient(shared_app(admin), client=("203.0.113.9", 50000)) as guesser:
        answers = [
            guesser.post("/api/admin/stories", headers={"Authorization": f"Bearer guess{n}"}, json={}) for n in range(7)
        ]
        assert [a.status_code for a in answers] == [401] * 5 + [429] * 2
        assert int(answers[-1].headers["Retry-After"]) > 0
        right = guesser.post("/api/admin/stories", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, json=[])
        assert right.status_code == 429, "while blocked, even a right guess is not tried"
    with TestClient(shared_app(admin), client=("198.51.100.7", 50000)) as owner:
        assert (
            owner.post("/api/admin/stories", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, json=[]).status_code
            == 201
        )


# --- 10. limits that protect the victim -----------------------------------------------------------------------------


def test_requests_that_send_no_mail_never_lock_the_owner_out(client, world_news, mailbox):
    email = unique("victim")
    for _ in range(5):  # an attacker's requests that fail validation: nothing sent, nothing counted
        assert api_subscribe(client, email=email, lists=["no-such-list"]).status_code == 404
        assert api_subscribe(client, email=email, timezone="Mars/Olympus").status_code == 422
    assert subscribe_by_form(client, email).status_code == 200
    mailbox.wait_for(email)


def test_the_owners_confirmed_address_is_never_answered_429(client, world_news, mailbox):
    email = unique("owner")
    confirmed_reader(client, mailbox, email)
    seen = len(mailbox.messages_to(email))
    for _ in range(6):
        assert subscribe_by_form(client, email).status_code == 200
    mailbox.settle()
    assert len(mailbox.messages_to(email)) == seen, "already subscribed: nothing more to confirm"


# --- 11. slow clients -----------------------------------------------------------------------------------------------


@pytest.fixture
def real_server(settings, db, world_news):
    """The production server configuration (service.web.server) on a free port, with short deadlines."""
    import uvicorn

    import service.web.server as server_module

    port = free_port()
    fast = settings.model_copy(update={"port": port, "request_timeout_seconds": 1.5})
    config = server_config(fast, log_level="warning")
    config.app = create_app(fast)  # the running settings, not the environment's
    config.factory = False
    old = server_module.HEADER_TIMEOUT_SECONDS
    server_module.HEADER_TIMEOUT_SECONDS = 1.5
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60  # a bound, not a target: a failed start fails the test, never hangs the run
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, f"uvicorn did not start on port {port}"
            time.sleep(0.02)
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
        server_module.HEADER_TIMEOUT_SECONDS = old


def _trickle(port: int, head: bytes, body_bytes: int) -> tuple[bytes, float]:
    """Send the head, then one body byte every 0.4 s; what came back and when the server stopped waiting."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        received = b""
        sock.settimeout(0.4)
        for _ in range(body_bytes):
            try:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
            except TimeoutError:
                pass
            if received:
                break
            try:
                sock.sendall(b"a")
            except OSError:
                break
        return received, time.monotonic() - started


def test_a_body_sent_a_byte_at_a_time_is_cut_off_with_408(real_server):
    head = (
        b"POST /api/subscriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 200\r\n\r\n"
    )
    received, seconds = _trickle(real_server, head, body_bytes=40)
    assert received.startswith(b"HTTP/1.1 408"), received[:200]
    assert seconds < 5, f"the server waited {seconds:.1f}s for a slow body"


def test_headers_sent_a_line_at_a_time_are_cut_off(real_server):
    with socket.create_connection(("127.0.0.1", real_server), timeout=10) as sock:
        sock.sendall(b"GET /subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 6:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
                sock.settimeout(0.5)
                if sock.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
        assert closed, "the connection stayed open for 6 s of trickled headers"
        assert time.monotonic() - started < 4


def test_the_server_sends_no_banner(real_server):
    with socket.create_connection(("127.0.0.1", real_server), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200")
    assert b"\r\nserver:" not in answer.lower()


# --- 13. an unsubscribe answer is no key to the preferences page -----------------------------------------------------


def test_the_unsubscribe_answer_hands_out_no_preferences_link(client, world_news, mailbox):
    from tests.support.web import link_path

    _, welcome = confirmed_reader(client, mailbox, unique("leaver"))
    answer = client.post(link_path(welcome, "unsubscribe"), data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200 and "You are unsubscribed" in answer.text
    assert "/preferences/" not in answer.text
