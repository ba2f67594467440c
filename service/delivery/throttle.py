"""The global send rate: one token bucket in Redis shared by every worker (Celery's rate_limit is per worker)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)
BUCKET_KEY = "newsletter:send-bucket"
REDIS_RETRY_SECONDS = 0.5

# Tokens refill continuously at ARGV[1] per second up to ARGV[2]; ARGV[3] are wanted. Returns the
# seconds to wait (as a string: Lua numbers become integers on the way out), "0" when granted.
TAKE = """
local rate, capacity, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= want then tokens = tokens - want else wait = (want - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], 60)
return tostring(wait)
"""


class Throttle:
    """Blocks until the next message may go; takes tokens from Redis a few at a time."""

    def __init__(self, rate_per_second: float, redis_url: str | None, key: str = BUCKET_KEY):
        self.rate = rate_per_second
        self.chunk = max(1, int(rate_per_second // 20))  # about 20 Redis calls a second per worker at most
        self.credit = 0
        self.key = key
        self._redis = redis.Redis.from_url(redis_url, socket_timeout=2) if rate_per_second > 0 and redis_url else None
        self._take = self._redis.register_script(TAKE) if self._redis else None
        self._next_local = time.monotonic()
        if rate_per_second > 0 and not redis_url:
            log.warning("no Redis configured: the send rate limit applies per worker process, not globally")

    def acquire(self, keepalive: Callable[[], object] = lambda: None) -> None:
        """Wait for permission to send one message; `keepalive` runs while waiting (lease renewal)."""
        if self.rate <= 0:
            return
        if self._take is None:
            return self._acquire_locally(keepalive)
        while self.credit <= 0:
            try:
                wait = float(self._take(keys=[self.key], args=[self.rate, max(self.rate, self.chunk), self.chunk]))
            except redis.RedisError as error:
                log.warning("rate limit store unavailable (%s); waiting rather than exceeding the limit", error)
                wait = REDIS_RETRY_SECONDS
            else:
                if wait == 0:
                    self.credit = self.chunk
                    break
            keepalive()
            time.sleep(min(wait, 1.0))
        self.credit -= 1

    def _acquire_locally(self, keepalive: Callable[[], object]) -> None:
        """Without Redis: evenly spaced sends within this process."""
        delay = self._next_local - time.monotonic()
        while delay > 0:
            keepalive()
            time.sleep(min(delay, 1.0))
            delay = self._next_local - time.monotonic()
        self._next_local = max(self._next_local, time.monotonic()) + 1.0 / self.rate
