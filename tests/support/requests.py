"""Valid API request bodies (test data): handler tests, end-to-end tests and the benchmarks share them."""

from __future__ import annotations

from typing import Any


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
