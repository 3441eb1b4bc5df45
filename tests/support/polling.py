"""Bounded waits: poll until something happens, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable

#: How long a test waits for something that happens in the background (a webhook, a retry, a
#: timer). Generous on purpose: a wait returns the moment its condition holds, so the limit only
#: decides when a test gives up, and two busy cores running the suite can stall a thread for
#: seconds (a 5-second limit made correct code fail there).
WAIT_S = 15.0


def eventually[T](probe: Callable[[], T | None], *, timeout: float = WAIT_S, interval: float = 0.05) -> T:
    """Poll until probe returns something truthy; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
