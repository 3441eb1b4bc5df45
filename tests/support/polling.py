"""Bounded waits: poll until something happens, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable


def eventually[T](probe: Callable[[], T | None], *, timeout: float = 15.0, interval: float = 0.05) -> T:
    """Poll until probe returns something truthy; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
