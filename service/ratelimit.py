"""Subscribe-form rate limits per IP and per address (limits library; Redis-backed when configured)."""
from __future__ import annotations

import math
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from service.errors import RateLimited


class SubscribeLimiter:
    """Stops the form being used to flood an inbox, or hammered from one address."""

    def __init__(self, storage_url: str, per_ip: str, per_address: str):
        self._limiter = FixedWindowRateLimiter(storage_from_string(storage_url))
        self._per_ip = parse(per_ip)
        self._per_address = parse(per_address)

    def check(self, ip: str | None, address: str | None) -> None:
        """Count one request; raise RateLimited when the IP or the address is over its limit."""
        if ip and not self._limiter.hit(self._per_ip, "subscribe-ip", ip):
            raise RateLimited("Too many subscribe requests from your network. Please try again later.",
                              self._seconds_left(self._per_ip, "subscribe-ip", ip))
        if address and not self._limiter.hit(self._per_address, "subscribe-address", address):
            raise RateLimited("Too many subscribe requests for this address. Please try again later.",
                              self._seconds_left(self._per_address, "subscribe-address", address))

    def _seconds_left(self, item, *identifiers: str) -> int:
        """When the window resets: what Retry-After tells well-behaved clients."""
        reset = self._limiter.get_window_stats(item, *identifiers).reset_time
        return max(1, math.ceil(reset - time.time()))
