"""A real HTTP server for feed tests: ThreadingHTTPServer on 127.0.0.1 that serves routes and records requests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """What one path answers: a status and body, optional validators for conditional GET, an optional delay."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    stream_bytes: int = 0  # when set: that many bytes without Content-Length, ended by closing the connection
    location: str | None = None  # a redirect's target (with status 301, 302, 307 or 308)


@dataclass
class Seen:
    """One request the server received."""

    path: str
    headers: dict[str, str]


@dataclass
class FeedServer:
    """Serves `routes` by path; answers 304 when If-None-Match or If-Modified-Since match the route."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    host: str = "127.0.0.1"  # loopback: tests that poll it set FEED_ALLOW_PRIVATE (allow_private=True)

    def __post_init__(self):
        self.httpd = ThreadingHTTPServer((self.host, 0), _handler_for(self))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, name=f"feeds-{self.port}", daemon=True)

    def url(self, path: str) -> str:
        """The absolute URL of a path on this server."""
        return f"http://{self.host}:{self.port}{path}"

    def requests_for(self, path: str) -> list[Seen]:
        """Requests for one path, oldest first."""
        return [seen for seen in self.requests if seen.path == path]

    def start(self) -> FeedServer:
        """Serve in a daemon thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def _handler_for(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to one FeedServer's routes and request log."""

    class Handler(BaseHTTPRequestHandler):
        """GET only, which is all a feed poller does."""

        def do_GET(self):  # http.server's naming
            """Record the request, then answer from the route table."""
            server.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
            route = server.routes.get(self.path)
            if route is None:
                return self._send(404, b"not found", "text/plain")
            time.sleep(route.delay)
            etag_hit = route.etag and self.headers.get("If-None-Match") == route.etag
            date_hit = route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified
            if etag_hit or (date_hit and not self.headers.get("If-None-Match")):
                return self._send(304, b"", None, route)
            if route.stream_bytes:
                return self._stream(route)
            self._send(route.status, route.body, route.content_type, route)

        def _send(self, status: int, body: bytes, content_type: str | None, route: Route | None = None) -> None:
            """A complete response with Content-Length and the route's validators."""
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            if route and route.etag:
                self.send_header("ETag", route.etag)
            if route and route.last_modified:
                self.send_header("Last-Modified", route.last_modified)
            if route and route.location:
                self.send_header("Location", route.location)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, route: Route) -> None:
            """A body of unannounced length, so only the client's own cap can stop it."""
            self.send_response(200)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"<!-- padding -->" * 4096
            try:
                for _ in range(route.stream_bytes // len(chunk) + 1):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading, as it should
            self.close_connection = True

        def log_message(self, format, *args):  # http.server's signature
            """Keep test output quiet."""

    return Handler
