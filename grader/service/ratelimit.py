"""A per-client rate limit: a token bucket per key (a token's id, else the client's address).

Each key may make `burst` submissions at once and then `rate_per_minute` on average. Buckets
live in memory (a restart forgives everyone, which is harmless) and idle ones are forgotten, so
many clients cannot grow the table without bound.
"""

from __future__ import annotations

import math
import threading
import time

MAX_KEYS = 100_000
"""Buckets kept at most; the idle ones go first."""


class RateLimiter:
    """Token buckets by client key."""

    def __init__(self, rate_per_minute: float, burst: int) -> None:
        """`rate_per_minute` <= 0 turns the limit off."""
        self.rate = rate_per_minute / 60.0
        self.burst = max(1, burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Spend one unit of `key`'s allowance: 0 when allowed, else the seconds until one is available."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            level, since = self._buckets.get(key, (float(self.burst), now))
            level = min(float(self.burst), level + (now - since) * self.rate)
            if level >= 1.0:
                self._buckets[key] = (level - 1.0, now)
                allowed = 0.0
            else:
                self._buckets[key] = (level, now)
                allowed = (1.0 - level) / self.rate
            if len(self._buckets) > MAX_KEYS:
                self._forget(now)
            return allowed

    def _forget(self, now: float) -> None:
        """Drop buckets that are full again (their clients have been idle long enough to be new)."""
        full_after = self.burst / self.rate
        for key in [k for k, (_, since) in self._buckets.items() if now - since >= full_after]:
            del self._buckets[key]
        while len(self._buckets) > MAX_KEYS:
            self._buckets.pop(next(iter(self._buckets)))

    @staticmethod
    def retry_after(seconds: float) -> int:
        """A Retry-After value (whole seconds, at least 1) for a wait."""
        return max(1, math.ceil(seconds))
