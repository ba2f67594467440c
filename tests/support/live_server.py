"""The real app served by uvicorn in a background thread, for tests that drive a real browser."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from tests.support.ports import free_port


class LiveServer:
    """uvicorn.Server on a free 127.0.0.1 port, started in a daemon thread and stopped on request."""

    def __init__(self, app, host: str = "127.0.0.1", port: int | None = None):
        self.host = host
        self.port = port or free_port()
        config = uvicorn.Config(
            app, host=host, port=self.port, log_level="warning", access_log=False, lifespan="on", ws="none"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"uvicorn-{self.port}", daemon=True)

    @property
    def origin(self) -> str:
        """Scheme, host and port, to put in front of a path."""
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of a path on this server."""
        return self.origin + path

    def start(self, timeout: float = 15.0) -> None:
        """Run the server and wait until it accepts connections; fail clearly if it cannot."""
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"uvicorn exited before it started on {self.origin}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"uvicorn did not start on {self.origin} within {timeout}s")
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for its thread."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout)


@contextmanager
def live_server(app, port: int | None = None) -> Iterator[LiveServer]:
    """Serve `app` for the duration of the block (on `port` when the app must know its own address)."""
    server = LiveServer(app, port=port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
