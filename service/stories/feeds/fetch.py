"""Feeds are fetched from the public internet only: the address is checked when a feed is added, on every
connection (the address actually connected to, so DNS rebinding gets nowhere) and on every redirect hop.

FEED_ALLOW_PRIVATE=true lets an intranet (or a test on 127.0.0.1) opt out. What a failed fetch records is
coarse on purpose ("could not fetch the feed (connection refused)"): the feed row is shown to viewers, and the
exact socket error of an internal host is a port scanner's answer. The details go to the log.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import time
import typing
from urllib.parse import urlsplit

import httpcore
import httpx

from service.models.stories import shown_url

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
DEADLINE_SECONDS = 60.0  # a server dripping bytes within each read timeout is still cut off
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_REDIRECTS = 5
USER_AGENT = "WorldNewsDaily/0.1 (self-hosted newsletter feed poller)"
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
NOT_PUBLIC = "its address is not on the public internet; set FEED_ALLOW_PRIVATE=true for intranet feeds"
Fetched = tuple[bytes, httpx.Headers, str]


class FeedError(Exception):
    """A poll that cannot produce stories; its message is what admins and viewers see on the feed's row."""


class NotPublic(httpcore.ConnectError):
    """A connection refused by us: the host resolves to a loopback, private, link-local or reserved address."""


def is_public(raw: str) -> bool:
    """A unicast address on the public internet (IPv4 inside IPv6 judged by the IPv4 it carries)."""
    try:
        address = ipaddress.ip_address(raw.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if inner is not None:
            return is_public(str(inner))
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_unspecified
    )


def resolve(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for a host (numeric forms such as 2130706433 included)."""
    return list(dict.fromkeys(str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)))


def address_problem(url: str, allow_private: bool) -> str | None:
    """Why a feed URL points off the public internet, or None; a host that does not resolve yet is checked later."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "only http:// and https:// addresses are fetched"
    if allow_private:
        return None
    host = parts.hostname.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return NOT_PUBLIC
    try:
        addresses = resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError, ValueError):
        return None  # no answer now (offline, a new name): every connection is checked anyway
    return NOT_PUBLIC if any(not is_public(address) for address in addresses) else None


class PublicOnlyBackend(httpcore.NetworkBackend):
    """Resolves the host itself, refuses non-public addresses, connects to the checked IP and checks the peer."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """One connection to a public address of host (TLS, if any, still verifies the host name)."""
        if self.allow_private:
            return self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        if not addresses or any(not is_public(address) for address in addresses):
            raise NotPublic(f"{host} resolves to {', '.join(addresses)}")
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as error:
                failure = error
                continue
            peer = str(stream.get_extra_info("server_addr")[0])
            if not is_public(peer):
                stream.close()
                raise NotPublic(f"{host} connected to {peer}")
            return stream
        raise failure or httpcore.ConnectError(f"no address for {host}")

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Feeds live on the network, never on a local socket."""
        raise NotPublic("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        """What httpcore's retries wait with."""
        time.sleep(seconds)


class PublicOnlyTransport(httpx.HTTPTransport):
    """httpx's own transport, with connections made by PublicOnlyBackend (environment proxies are not used)."""

    def __init__(self, *, allow_private: bool) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=20,
            max_keepalive_connections=10,
            keepalive_expiry=5.0,
            network_backend=PublicOnlyBackend(allow_private),
        )


def make_client(timeout: float = TIMEOUT_SECONDS, *, allow_private: bool = False) -> httpx.Client:
    """The HTTP client feeds are fetched with: bounded timeouts, public addresses only, redirects followed by us."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=timeout),
        follow_redirects=False,
        transport=PublicOnlyTransport(allow_private=allow_private),
        trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


def fetch(
    client: httpx.Client, url: str, *, etag: str | None, last_modified: str | None, allow_private: bool
) -> Fetched | None:
    """GET a feed conditionally, each redirect hop checked: (body, headers, final URL), or None for 304."""
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    headers |= {"If-None-Match": etag} if etag else {}
    headers |= {"If-Modified-Since": last_modified} if last_modified else {}
    deadline = time.monotonic() + DEADLINE_SECONDS
    for _hop in range(MAX_REDIRECTS + 1):
        if problem := address_problem(url, allow_private):
            raise FeedError(f"could not fetch the feed ({problem})")
        try:
            with client.stream("GET", url, headers=headers) as response:
                if response.is_redirect and "location" in response.headers:
                    url = str(response.url.join(response.headers["location"]))
                    continue
                return _read(response, deadline)
        except httpx.HTTPError as error:
            raise FeedError(f"could not fetch the feed ({_reason(error, url)})") from None
        except httpx.InvalidURL:
            raise FeedError("could not fetch the feed (the address is not a valid URL)") from None
    raise FeedError(f"could not fetch the feed (more than {MAX_REDIRECTS} redirects)")


def _read(response: httpx.Response, deadline: float) -> Fetched | None:
    """The body of a final answer, at most MAX_BODY_BYTES and within the deadline."""
    if response.status_code == 304:
        return None
    if response.status_code >= 400:
        raise FeedError(f"HTTP {response.status_code} {response.reason_phrase}".strip())
    too_large = f"response larger than {MAX_BODY_BYTES // (1024 * 1024)} MB; stopped reading"
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise FeedError(too_large)
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise FeedError(too_large)
        if time.monotonic() > deadline:
            raise FeedError(f"download took longer than {DEADLINE_SECONDS:.0f} s; stopped reading")
    return bytes(body), response.headers, str(response.url)


def _reason(error: httpx.HTTPError, url: str) -> str:
    """A few words for the feed's row; the full error goes to the log, with the URL's credentials hidden."""
    log.warning("feed %s: %s: %s", shown_url(url), type(error).__name__, error)
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    causes: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(c, NotPublic) for c in causes):
        return NOT_PUBLIC
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "connection refused"
    if any(isinstance(c, socket.gaierror) for c in causes) or "cannot resolve" in str(error):
        return "host not found"
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return "TLS handshake failed"
    if isinstance(error, httpx.ConnectError):
        return "could not connect"
    return "the connection failed"
