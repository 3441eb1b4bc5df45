"""Test-side BeilyPay client written from BeilyPay's documentation alone (its own signer; no emulator code)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.common.receiver import RecordingReceiver
from sandbox.common.server import RunningServer
from tests.support.polling import WAIT_S

# The public test credentials shipped in the official SDK samples (protocols §2.6).
APP_ID = 1183601355
MERCHANT_ID = 3
SECRET = "8c62bd95169ba8818c676a6f2025b8e5"
BALANCE = 1_000_000  # paise = INR 10,000.00

TIME_SCALE = 0.01
PAYOUT_DELAY_S = 3.0  # 30 ms once scaled
NOTIFY_SCHEDULE = (0, 5, 15, 30)  # 0, 50, 150, 300 ms once scaled


def seed_sign(params: dict[str, Any], secret: str, *, upper: bool = True, include_empty: bool = False) -> str:
    """The documented rule: sorted k=v of non-empty values + &key=secret, MD5 (Python SDK style: lower, empties)."""
    pairs = [
        f"{key}={json.dumps(value) if isinstance(value, bool) else value}"
        for key, value in sorted(params.items())
        if key != "sign" and value is not None and (include_empty or value != "")
    ]
    digest = hashlib.md5("&".join([*pairs, f"key={secret}"]).encode(), usedforsecurity=False).hexdigest()
    return digest.upper() if upper else digest


def signed(params: dict[str, Any], secret: str = SECRET, **options: Any) -> dict[str, Any]:
    return {**params, "sign": seed_sign(params, secret, **options)}


def verify_seed_sign(data: dict[str, Any], secret: str = SECRET) -> bool:
    """What a careful client does with a response or notify: recompute over every field but sign."""
    return seed_sign(data, secret) == str(data["sign"])


def payout_request(out_order_no: str, notify_url: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "appId": APP_ID,
        "merchantId": MERCHANT_ID,
        "account": "123456781234",
        "accountOwner": "Asha Rao",
        "accountType": "Card",
        "bankCode": "SBIN",
        "ifsc": "SBIN0001234",
        "mobile": "9876543210",
        "email": "asha@example.com",
        "notifyUrl": notify_url,
        "outOrderNo": out_order_no,
        "payAmount": 12_345,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def collection_request(out_order_no: str, notify_url: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "appId": APP_ID,
        "merchantId": MERCHANT_ID,
        "payAmount": 50_000,
        "outOrderNo": out_order_no,
        "notifyUrl": notify_url,
        "frontCallback": "https://shop.example.com/done",
        "userId": "u-1",
        "userName": "Ravi",
        "email": "ravi@example.com",
        "mobile": "9123456789",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@dataclass
class Sandbox:
    """A running emulator plus a notify receiver, and shortcuts that speak the wire protocol."""

    server: RunningServer
    client: httpx.Client
    receiver: RecordingReceiver
    notify_url: str

    def call(self, path: str, params: dict[str, Any], **sign_options: Any) -> dict[str, Any]:
        response = self.client.post(path, json=signed(params, **sign_options))
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        body: dict[str, Any] = response.json()
        return body

    def create_payout(self, out_order_no: str, **overrides: Any) -> dict[str, Any]:
        return self.call("/v2/trans/create", payout_request(out_order_no, self.notify_url, **overrides))

    def create_collection(self, out_order_no: str, **overrides: Any) -> dict[str, Any]:
        return self.call("/v2/payment/create", collection_request(out_order_no, self.notify_url, **overrides))

    def query(self, path: str, order_no: str) -> dict[str, Any]:
        return self.call(path, {"appId": APP_ID, "merchantId": MERCHANT_ID, "orderNo": order_no})

    def balance(self) -> Any:
        data = self.call("/merchant/accountInfo", {"appId": APP_ID, "merchantId": MERCHANT_ID})["data"]
        return data["settlementAmount"]

    def order_state(self, order_no: str) -> dict[str, Any]:
        response = self.client.get(f"/_sandbox/orders/{order_no}")
        assert response.status_code == 200
        state: dict[str, Any] = response.json()
        return state

    def wait_order_status(self, order_no: str, status: int, timeout_s: float = WAIT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = self.order_state(order_no)
            if state["status"] == status:
                return state
            time.sleep(0.01)
        raise AssertionError(f"order {order_no} never reached status {status}: {self.order_state(order_no)}")

    def attempts(self, ref: str) -> list[dict[str, Any]]:
        response = self.client.get("/_sandbox/notifications", params={"ref": ref})
        return list(response.json()["attempts"])

    def wait_attempts(self, ref: str, count: int, timeout_s: float = WAIT_S) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            attempts = self.attempts(ref)
            if len(attempts) >= count:
                return attempts
            time.sleep(0.01)
        raise AssertionError(f"{len(self.attempts(ref))} of {count} notify attempts for {ref}")

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        response = self.client.post("/_sandbox/faults", json=rule)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created
