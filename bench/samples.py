"""Sample traffic the benchmarks send, and the tests reuse: valid API request bodies, and the
first notification a provider sandbox sent for an order."""

from __future__ import annotations

import time
from typing import Any

import httpx


def payout_body(out_order_no: str = "PO-0001", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "out_order_no": out_order_no,
        "amount": 150_000,
        "account_type": "Card",
        "account": "123456781234",
        "account_owner": "Asha Verma",
        "bank_code": "SBIN",
        "ifsc": "SBIN0001234",
        "address": "12 MG Road, Bengaluru",
        "email": "asha@example.in",
        "mobile": "9876543210",
    }
    body.update(overrides)
    return body


def collection_body(out_order_no: str = "CO-0001", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "out_order_no": out_order_no,
        "amount": 49_900,
        "user_id": "user-42",
        "user_name": "Ravi Kumar",
        "email": "ravi@example.in",
        "mobile": "9123456780",
        "return_url": "https://shop.example.in/thanks",
    }
    body.update(overrides)
    return body


def first_notification(sandbox_url: str, ref: str, timeout_s: float) -> dict[str, Any]:
    """The signed body of the first webhook/notify the sandbox tried to deliver for `ref`."""
    deadline = time.monotonic() + timeout_s
    while (remaining := deadline - time.monotonic()) > 0:
        try:  # one slow answer on a busy machine is "not yet", within the same deadline
            answer = httpx.get(f"{sandbox_url}/_sandbox/notifications", params={"ref": ref}, timeout=remaining)
        except httpx.TimeoutException:
            continue
        attempts = answer.json()["attempts"]
        if attempts:
            body: dict[str, Any] = attempts[0]["body"]
            return body
        time.sleep(0.02)
    raise AssertionError(f"the sandbox sent no notification for {ref}")
