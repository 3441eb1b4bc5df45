"""A client written only from BeeCloud's v1 documentation (plain httpx, its own md5) works unchanged."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.parse
from typing import Any

import httpx

from tests.sandbox.beecloud.beecloud_support import APP_ID, APP_SECRET, Sandbox
from tests.support.clock import today_in_china


class SeedClient:
    """BeeCloud RESTful API V1 as its documentation describes it, nothing more."""

    def __init__(self, host: str, app_id: str, app_key: str) -> None:
        self.host = host
        self.app_id = app_id
        self.app_key = app_key

    def _common(self) -> dict[str, Any]:
        timestamp = int(time.time() * 1000)
        sign = hashlib.md5(f"{self.app_id}{timestamp}{self.app_key}".encode(), usedforsecurity=False).hexdigest()
        return {"app_id": self.app_id, "timestamp": timestamp, "app_sign": sign}

    def post(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(self.host + path, json={**self._common(), **params})
        return dict(response.json())

    def get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        para = urllib.parse.quote(json.dumps({**self._common(), **params}))
        return dict(httpx.get(f"{self.host}{path}?para={para}").json())


def test_seed_client_full_flow(sandbox: Sandbox) -> None:
    client = SeedClient(sandbox.url, APP_ID, APP_SECRET)
    bill = client.post(
        "/1/rest/bill",
        {"channel": "WX_NATIVE", "total_fee": 1, "bill_no": "201506101035040000001", "title": "白开水"},
    )
    assert (bill["result_code"], bill["result_msg"]) == (0, "OK")
    httpx.get(bill["code_url"])  # the buyer scans the QR code
    [webhook] = sandbox.webhooks(1)
    assert webhook["transaction_id"] == "201506101035040000001"

    bills = client.get("/1/rest/bills", {"channel": "WX", "bill_no": "201506101035040000001"})
    assert bills["count"] == 1
    assert bills["bills"][0]["spay_result"] is True

    refund_no = today_in_china() + "1035040001"
    refund = client.post(
        "/1/rest/refund",
        {"channel": "WX", "refund_no": refund_no, "bill_no": "201506101035040000001", "refund_fee": 1},
    )
    assert (refund["result_code"], refund["result_msg"]) == (0, "OK")

    refunds = client.get("/1/rest/refunds", {"channel": "WX", "refund_no": refund_no})
    assert refunds["count"] == 1
    assert refunds["refunds"][0]["refund_fee"] == 1

    status = client.get("/1/rest/refund/status", {"channel": "WX", "refund_no": refund_no})
    assert status["result_code"] == 0
    assert status["refund_status"] in ("PROCESSING", "SUCCESS")


def test_seed_client_sees_the_seed_error_table(sandbox: Sandbox) -> None:
    client = SeedClient(sandbox.url, APP_ID, "wrong-key")
    answer = client.post("/1/rest/bill", {"channel": "WX_NATIVE", "total_fee": 1, "bill_no": "x1", "title": "t"})
    assert (answer["result_code"], answer["result_msg"]) == (1, "APP_INVALID")
    refund = SeedClient(sandbox.url, APP_ID, APP_SECRET).post(
        "/1/rest/refund",
        {"channel": "WX", "refund_no": today_in_china() + "001", "bill_no": "none", "refund_fee": 1},
    )
    assert (refund["result_code"], refund["result_msg"]) == (8, "NO_SUCH_BILL")
