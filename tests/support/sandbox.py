"""Reading what a provider sandbox sent, through its control API (`/_sandbox/notifications`)."""

from __future__ import annotations

import time
from typing import Any

import httpx


def first_notification(sandbox_url: str, ref: str, timeout_s: float) -> dict[str, Any]:
    """The signed body of the first webhook/notify the sandbox tried to deliver for `ref`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        attempts = httpx.get(f"{sandbox_url}/_sandbox/notifications", params={"ref": ref}).json()["attempts"]
        if attempts:
            body: dict[str, Any] = attempts[0]["body"]
            return body
        time.sleep(0.02)
    raise AssertionError(f"the sandbox sent no notification for {ref}")
