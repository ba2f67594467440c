"""Debian's headless Chromium through playwright, kept to the live server: foreign requests, console and page errors
fail the test (that also catches CSP violations); a Chromium that does not launch fails it, never skips it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Page, sync_playwright

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


@contextmanager
def chromium_page(
    origin: str, *, viewport: dict, timeout_ms: int = 10_000, expected_console: tuple[str, ...] = ()
) -> Iterator[Page]:
    """A fresh page that may only talk to `origin`; console errors containing an `expected_console` text are
    allowed (Chromium logs every 404 document it loads, and a test may visit one on purpose)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=viewport, locale="en-GB")
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
            context.close()
        finally:
            browser.close()
