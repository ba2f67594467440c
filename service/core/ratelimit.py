"""Rate limits (limits library; Redis-backed when configured): subscribe requests, confirmation mail, admin logins."""

from __future__ import annotations

import ipaddress
import math
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from service.core.addresses import mailbox_key
from service.core.errors import RateLimited


class _Limit:
    """One named limit over one shared counter store."""

    def __init__(self, limiter: FixedWindowRateLimiter, spec: str, name: str):
        self.limiter, self.item, self.name = limiter, parse(spec), name

    def allows(self, key: str) -> bool:
        """True while `key` is under the limit; counts nothing."""
        return self.limiter.test(self.item, self.name, key)

    def count(self, key: str) -> bool:
        """Count one event for `key`; False when that went over the limit."""
        return self.limiter.hit(self.item, self.name, key)

    def spent(self, key: str) -> bool:
        """True when `key` has counted anything in the current window."""
        return self.limiter.get_window_stats(self.item, self.name, key).remaining < self.item.amount

    def seconds_left(self, key: str) -> int:
        """When the window resets: what Retry-After tells well-behaved clients."""
        reset = self.limiter.get_window_stats(self.item, self.name, key).reset_time
        return max(1, math.ceil(reset - time.time()))


def network_of(ip: str | None) -> str | None:
    """The client a limit counts: an IPv4 address, or an IPv6 /64 (one home or server gets a whole /64)."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:  # not an address (a test client's name): counted as it is
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _limiter(storage_url: str, namespace: str) -> FixedWindowRateLimiter:
    """Counters in Redis when there is one (shared by every process, apart from other installs), else in memory."""
    if storage_url.startswith(("redis://", "rediss://", "redis+")):
        return FixedWindowRateLimiter(storage_from_string(storage_url, key_prefix=f"LIMITS:{namespace}"))
    return FixedWindowRateLimiter(storage_from_string(storage_url))


class SubscribeLimiter:
    """Per IP at the door (valid requests only); per mailbox in the worker (only requests that send mail)."""

    def __init__(
        self, storage_url: str, per_ip: str, per_address: str, namespace: str = "newsletter", resend: str = "2/hour"
    ):
        limiter = _limiter(storage_url, namespace)
        self._per_ip = _Limit(limiter, per_ip, "subscribe-ip")
        self._per_mailbox = _Limit(limiter, per_address, "subscribe-mailbox")
        self._resend = _Limit(limiter, resend, "subscribe-resend")
        self._data_link = _Limit(limiter, resend, "data-link")

    def check_resend(self, address: str) -> int:
        """Count one "send it again" press for this mailbox: 0 when allowed, else the seconds until it is.

        Counted on every press, whatever the address's history, so the answer never tells whether it is known.
        """
        key = mailbox_key(address)
        return 0 if self._resend.count(key) else self._resend.seconds_left(key)

    def check_data_link(self, address: str) -> None:
        """Count one "email me my data link" press for this mailbox; RateLimited past SUBSCRIBE_RESEND_LIMIT."""
        key = mailbox_key(address)
        if not self._data_link.count(key):
            wait = self._data_link.seconds_left(key)
            raise RateLimited(
                f"We have just sent you a link. Please use it, or ask again in {-(-wait // 60)} minutes.", wait
            )

    def check_ip(self, ip: str | None) -> None:
        """Count one valid request from this IP (an IPv6 /64 is one client); RateLimited when it sends too many."""
        network = network_of(ip)
        if network and not self._per_ip.count(network):
            raise RateLimited(
                "Too many subscribe requests from your network. Please try again later.",
                self._per_ip.seconds_left(network),
            )

    def take_mail_slot(self, address: str) -> bool:
        """Count one confirmation email to this mailbox (tags and Gmail dots folded); False when over the limit."""
        return self._per_mailbox.count(mailbox_key(address))


class FailureThrottle:
    """Failed admin authentications per IP: guessing a token gets slower than useless."""

    def __init__(self, storage_url: str, spec: str, namespace: str = "newsletter"):
        self._limit = _Limit(_limiter(storage_url, namespace), spec, "admin-auth-failures")

    def check(self, ip: str | None) -> None:
        """RateLimited while this IP (an IPv6 /64) has failed too often in the window."""
        network = network_of(ip)
        if network and not self._limit.allows(network):
            raise RateLimited(
                "Too many failed admin authentications from your network. Please try again later.",
                self._limit.seconds_left(network),
            )

    def failed(self, ip: str | None) -> None:
        """Count one failure."""
        if network := network_of(ip):
            self._limit.count(network)


class LoginThrottle:
    """Failed admin sign-ins, counted per network and per address: the same refusal whether or not the account exists.

    An address that failed too often is closed only to the networks that failed lately (at anything): guessers
    spread over many IPs get one try each per window, and cannot lock the owner out, who signs in from a network
    of their own (or from the same one once its window has passed).
    """

    def __init__(self, storage_url: str, spec: str, namespace: str = "newsletter"):
        self._limit = _Limit(_limiter(storage_url, namespace), spec, "admin-login-failures")

    @staticmethod
    def _keys(ip: str | None, email: str) -> tuple[str, str]:
        """Both counters a sign-in attempt answers to."""
        return f"ip:{network_of(ip) or '-'}", f"email:{email.strip().lower()}"

    def check(self, ip: str | None, email: str) -> None:
        """RateLimited while the network has failed too often, or the address has and this network failed too."""
        network, address = self._keys(ip, email)
        closed = [key for key in (network, address) if not self._limit.allows(key)]
        if address in closed and network not in closed and not self._limit.spent(network):
            closed.remove(address)  # a network with no failure in the window gets its try
        if closed:
            wait = max(self._limit.seconds_left(key) for key in closed)
            raise RateLimited(f"Too many failed sign-ins. Please wait {wait} seconds and try again.", wait)

    def failed(self, ip: str | None, email: str) -> None:
        """Count one failure against both."""
        for key in self._keys(ip, email):
            self._limit.count(key)
