"""Debian's headless Chromium through playwright, kept to the live server: foreign requests, console and page errors
fail the test (that also catches CSP violations); a Chromium that does not launch fails it, never skips it.

One Chromium serves the session (a launch costs a second or two); each test gets a fresh context of its own
(cookies, storage, cache and routes), as a new browser profile would be."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


_shared: dict[str, Browser | Playwright | str] = {}


def shared_browser() -> Browser:
    """The session's Chromium, launched on first use (and again if it went away)."""
    browser = _shared.get("browser")
    if not isinstance(browser, Browser) or not browser.is_connected():
        playwright = _shared.get("playwright")
        if not isinstance(playwright, Playwright):
            playwright = _shared["playwright"] = sync_playwright().start()
        browser = _shared["browser"] = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
    return browser


def close_shared_browser() -> None:
    """At the end of the session (tests/conftest.py): Chromium and playwright's driver stop."""
    browser, playwright = _shared.pop("browser", None), _shared.pop("playwright", None)
    if isinstance(browser, Browser):
        browser.close()
    if isinstance(playwright, Playwright):
        playwright.stop()


@contextmanager
def chromium() -> Iterator[Browser]:
    """The session's Chromium for a test that makes contexts of its own; they are closed when it is done."""
    browser = shared_browser()
    before = set(browser.contexts)
    try:
        yield browser
    finally:
        for context in browser.contexts:
            if context not in before:
                context.close()


def release_unless(module: str) -> None:
    """Chromium is kept for the tests of one module: playwright's sync API holds an asyncio loop in this thread,
    which other tests' asyncio.run (and playwright elsewhere) cannot share, so it stops when another module starts."""
    if _shared.get("module") != module:
        close_shared_browser()
        _shared["module"] = module


@contextmanager
def chromium_page(
    origin: str, *, viewport: dict, timeout_ms: int = 10_000, expected_console: tuple[str, ...] = ()
) -> Iterator[Page]:
    """A fresh page that may only talk to `origin`; console errors containing an `expected_console` text are
    allowed (Chromium logs every 404 document it loads, and a test may visit one on purpose)."""
    context = shared_browser().new_context(viewport=viewport, locale="en-GB")
    try:
        foreign: list[str] = []

        def only_our_origin(route):
            if route.request.url.startswith(origin + "/"):
                route.continue_()
            else:
                foreign.append(route.request.url)
                route.abort()

        context.route("**/*", only_our_origin)
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        problems: list[str] = []
        page.on(
            "console",
            lambda msg: (
                problems.append(f"console {msg.type}: {msg.text}")
                if msg.type == "error" and not any(text in msg.text for text in expected_console)
                else None
            ),
        )
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        yield page
        assert foreign == [], f"the pages asked for resources elsewhere: {foreign}"
        assert problems == [], "\n".join(problems)
    finally:
        context.close()


CONFIRMS_KEY = "test-confirms"


def accept_confirms(page: Page) -> Callable[[], list[str]]:
    """Say yes to every "Are you sure?" (window.confirm) from now on, and return a reader of the questions asked.

    The answer is given in the page itself, so no native dialog is left to race playwright's dialog events (a
    dialog dismissed before its listener ran made a send silently not happen under load); the questions are kept
    in sessionStorage, so they survive the form's navigation.
    """
    page.add_init_script(
        "window.confirm = function (question) {"
        f"  var asked = JSON.parse(sessionStorage.getItem('{CONFIRMS_KEY}') || '[]');"
        f"  asked.push(String(question)); sessionStorage.setItem('{CONFIRMS_KEY}', JSON.stringify(asked));"
        "  return true;"
        "};"
    )

    def asked() -> list[str]:
        return page.evaluate(f"JSON.parse(sessionStorage.getItem('{CONFIRMS_KEY}') || '[]')")

    return asked
