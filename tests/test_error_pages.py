"""404 and 500 answer in the client's format: a page in the site's style for browsers, {"error","detail"} for API
clients (every path under /api, and any client whose Accept prefers JSON), and never a traceback."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
JSON = "application/json"
SECRET = "db password is hunter2"  # what a bug's message may hold: it must reach the log only


class NoMail:
    """Error pages send nothing."""

    def subscribe_request(self, request):
        raise AssertionError("error pages must not send mail")

    confirmation = welcome = subscribe_request


@pytest.fixture
def web(settings, db):
    """The real app plus two test-only routes with a bug; server errors come back as answers, not exceptions."""
    from tests.support.apps import shared_app

    app = shared_app(settings, notifier=NoMail())

    def broken():
        raise RuntimeError(SECRET)

    app.add_api_route("/broken-page", broken)
    app.add_api_route("/api/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def is_site_page(answer) -> bool:
    """Our HTML page: the site's stylesheet and header, with the strict CSP."""
    return (
        answer.headers["content-type"].startswith("text/html")
        and 'class="site-header"' in answer.text
        and "--paper" in answer.text
        and "default-src 'none'" in answer.headers["content-security-policy"]
    )


@pytest.mark.parametrize("path", ["/no-such-page", "/archive/no-such-list", "/stories/999999"])
def test_a_browser_gets_a_404_page_in_the_sites_style(web, db, world_news, path):
    answer = web.get(path, headers={"Accept": BROWSER})

    assert answer.status_code == 404 and is_site_page(answer)
    assert "<h1>Not found</h1>" in answer.text
    assert 'href="/archive"' in answer.text, "a way on, not a dead end"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/no-such-page", "not_found"),
        ("/archive/no-such-list", "unknown_list"),
        ("/archive/world-news/2026-02-30", "unknown_list"),
    ],
)
def test_an_api_client_gets_a_json_404(web, db, world_news, path, code):
    for accept in (JSON, "application/problem+json", "application/json, text/html;q=0.5"):
        answer = web.get(path, headers={"Accept": accept})

        assert answer.status_code == 404 and answer.headers["content-type"] == "application/json"
        assert answer.json()["error"] == code and set(answer.json()) == {"error", "detail"}


def test_api_paths_answer_json_whatever_the_accept_header(web):
    for accept in (BROWSER, "*/*", JSON, ""):
        answer = web.get("/api/no-such-thing", headers={"Accept": accept})

        assert answer.status_code == 404 and answer.json() == {
            "error": "not_found",
            "detail": "There is no page at this address.",
        }


def test_a_client_that_names_no_preference_gets_the_page(web):
    for accept in ("*/*", "", "text/*"):
        answer = web.get("/no-such-page", headers={"Accept": accept})
        assert answer.status_code == 404 and is_site_page(answer)


def test_a_bug_is_a_500_page_for_a_browser_without_the_traceback(web, caplog):
    with caplog.at_level(logging.ERROR, logger="service.web.errors"):
        answer = web.get("/broken-page", headers={"Accept": BROWSER})

    assert answer.status_code == 500 and is_site_page(answer)
    assert "<h1>Something went wrong</h1>" in answer.text
    assert SECRET not in answer.text and "Traceback" not in answer.text and "RuntimeError" not in answer.text
    assert answer.headers["cache-control"] == "no-store" and answer.headers["x-frame-options"] == "DENY"
    assert SECRET in caplog.text and "Traceback" in caplog.text, "the bug is in the log, for us"


@pytest.mark.parametrize(("path", "accept"), [("/broken-page", JSON), ("/api/broken", BROWSER), ("/api/broken", JSON)])
def test_a_bug_is_a_json_500_for_an_api_client(web, path, accept):
    answer = web.get(path, headers={"Accept": accept})

    assert answer.status_code == 500 and answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"error", "detail"} and body["error"] == "internal_error"
    assert SECRET not in answer.text and "Traceback" not in answer.text
