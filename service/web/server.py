"""The production web server: uvicorn with our bind address, no banner, and a deadline for request headers."""

from __future__ import annotations

import asyncio

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.core.config import Settings

HEADER_TIMEOUT_SECONDS = 10.0


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn waits forever for request headers; a client that trickles them in is cut off instead."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock as soon as a client connects."""
        super().connection_made(transport)
        self._start_header_timer()

    def on_message_begin(self) -> None:
        """A keep-alive connection's next request gets a fresh deadline for its headers."""
        super().on_message_begin()
        self._start_header_timer()

    def on_headers_complete(self) -> None:
        """The headers made it in time: the body has its own deadline (service.web.security)."""
        self._cancel_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        """No timer may outlive its connection."""
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _start_header_timer(self) -> None:
        """(Re)arm the header deadline."""
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(HEADER_TIMEOUT_SECONDS, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        """Disarm the header deadline."""
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        """Drop the connection: nothing has been handed to the app yet, so nothing is lost."""
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def server_config(settings: Settings, *, log_level: str = "info") -> uvicorn.Config:
    """uvicorn's settings for our app: bind HOST:PORT, trust X-Forwarded-* only from FORWARDED_ALLOW_IPS."""
    return uvicorn.Config(
        "service.web.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        http=HeaderDeadlineProtocol,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        server_header=False,
        timeout_keep_alive=5,
        log_level=log_level,
    )


def serve(settings: Settings) -> None:
    """Run the web server in the foreground until SIGINT/SIGTERM."""
    uvicorn.Server(server_config(settings)).run()
