"""A token bucket per key, in the container's memory: how often one page may ask for its status.

A page polls every two seconds; a script hammering one session's status endpoint is answered 429
(with Retry-After) by the container it reaches, before any read. Each container keeps its own
buckets, so across N warm containers a key gets at most N times the rate: a cheap first line, behind
the route's own throttle in API Gateway. Bounded: past `max_keys` the least recently used bucket is dropped.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class KeyedRateLimit:
    def __init__(
        self, *, rate: float, burst: int, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = burst
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, updated)
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def burst(self) -> int:
        return self._burst

    def clear(self) -> None:
        """Forgets every key, as a new container would start."""
        with self._lock:
            self._buckets.clear()

    def retry_after(self, key: str) -> int | None:
        """None if a request for `key` may go ahead now (and counts it), else seconds to wait."""
        with self._lock:
            now = self._clock()
            tokens, updated = self._buckets.pop(key, (float(self._burst), now))
            tokens = min(float(self._burst), tokens + (now - updated) * self._rate)
            allowed = tokens >= 1
            if allowed:
                tokens -= 1
            self._buckets[key] = (tokens, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            return None if allowed else max(1, math.ceil((1 - tokens) / self._rate))
