"""Helpers for the BeeCloud emulator tests: a signing client and a running emulator handle."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import httpx

from sandbox.beecloud.service import BeeCloudEmulator
from sandbox.common.receiver import RecordingReceiver
from sandbox.common.server import RunningServer
from tests.support.clock import today_in_china
from tests.support.polling import WAIT_S

APP_ID = "0950c062-5e41-44e3-8f52-f89d8cf2b6eb"
APP_SECRET = "a5571c5a-591e-4fb9-bd92-0283782af00d"
MASTER_SECRET = "e14ae2db-608c-4f8b-b863-c8c18953eef2"
TEST_SECRET = "4bfdd244-574d-4bf3-b034-0c751ed34fee"
OTHER_APP_ID = "c5d1cba1-5e3f-4ba0-941d-9b0a371fe719"
OTHER_APP_SECRET = "39a7a518-9ac8-4a9e-87bc-7885f33cf18c"
TIME_SCALE = 0.01

CHANNEL_EXTRAS: dict[str, dict[str, Any]] = {
    "WX_APP": {},
    "WX_NATIVE": {},
    "WX_JSAPI": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    "ALI_APP": {},
    "ALI_WEB": {"return_url": "https://merchant.example/return", "show_url": "http://beecloud.cn"},
    "ALI_WAP": {"return_url": "https://merchant.example/return", "use_app": True},
    "ALI_QRCODE": {"return_url": "https://merchant.example/return", "qr_pay_mode": "1"},
    "UN_APP": {},
    "UN_WEB": {"return_url": "https://merchant.example/return"},
}


def md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def now_ms() -> int:
    return int(time.time() * 1000)


def today_refund_prefix() -> str:
    """Beijing's today, never within seconds of its midnight: compute once per refund and keep it."""
    return today_in_china()


def wait_until(predicate: Callable[[], Any], timeout_s: float = WAIT_S, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@dataclass
class Sandbox:
    """A running emulator, its webhook receiver and a client that signs like the SDKs."""

    server: RunningServer
    emulator: BeeCloudEmulator
    receiver: RecordingReceiver
    receiver_url: str
    client: httpx.Client
    app_id: str = APP_ID
    secret: str = APP_SECRET
    generation: int = 0  # each test's webhooks go to a path of their own

    def reset(self) -> None:
        """Forget earlier tests' state and give this test's webhooks a receiver path of their own.

        The reset cancels earlier tests' deliveries, but one already on the wire still lands
        after it: webhooks() counts only what arrives at this test's path, so it never does."""
        response = self.client.post("/_sandbox/reset")
        assert response.status_code == 200
        old_url = self.receiver_url
        self.generation += 1
        self.receiver_url = f"{old_url.rsplit('/webhook', 1)[0]}/webhook/{self.generation}"
        store = self.emulator.store
        for app in list(store.apps.values()):
            if app.webhook_url == old_url:
                store.register_app(replace(app, webhook_url=self.receiver_url))

    def received_here(self) -> list[Any]:
        """What this test's webhook path received (earlier tests' late deliveries excluded)."""
        path = urlsplit(self.receiver_url).path
        return [item for item in self.receiver.received if item.path == path]

    @property
    def url(self) -> str:
        return self.server.url

    def auth(self, secret: str | None = None, app_id: str | None = None) -> dict[str, Any]:
        app_id = app_id or self.app_id
        timestamp = now_ms()
        return {
            "app_id": app_id,
            "timestamp": timestamp,
            "app_sign": md5(f"{app_id}{timestamp}{secret or self.secret}"),
        }

    def post(self, path: str, body: dict[str, Any], *, sign: bool = True, secret: str | None = None) -> dict[str, Any]:
        payload = {**self.auth(secret), **body} if sign else body
        response = self.client.post(path, json=payload)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        return dict(response.json())

    def get(self, path: str, para: dict[str, Any], *, sign: bool = True) -> dict[str, Any]:
        payload = {**self.auth(), **para} if sign else para
        response = self.client.get(path, params={"para": json.dumps(payload, separators=(",", ":"))})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        return dict(response.json())

    def bill(self, channel: str = "WX_NATIVE", bill_no: str = "bill0001", **fields: Any) -> dict[str, Any]:
        body = {
            "channel": channel,
            "total_fee": 100,
            "bill_no": bill_no,
            "title": "白开水",
            **CHANNEL_EXTRAS[channel],
        }
        body.update(fields)
        return self.post("/1/rest/bill", body)

    def paid_bill(self, channel: str = "WX_NATIVE", bill_no: str = "bill0001", **fields: Any) -> dict[str, Any]:
        created = self.bill(channel, bill_no, **fields)
        assert created["result_code"] == 0, created
        response = self.client.post(f"/_sandbox/bills/{self.app_id}/{bill_no}/pay")
        assert response.status_code == 200
        return dict(response.json()["bill"])

    def refund(self, bill_no: str, refund_fee: int = 100, serial: str = "001", **fields: Any) -> dict[str, Any]:
        body = {"refund_no": today_refund_prefix() + serial, "bill_no": bill_no, "refund_fee": refund_fee}
        body.update(fields)
        return self.post("/1/rest/refund", body)

    def control_bill(self, bill_no: str) -> dict[str, Any]:
        return dict(self.client.get(f"/_sandbox/bills/{self.app_id}/{bill_no}").json())

    def control_refund(self, refund_no: str) -> dict[str, Any]:
        return dict(self.client.get(f"/_sandbox/refunds/{self.app_id}/{refund_no}").json())

    def attempts(self, ref: str | None = None) -> list[dict[str, Any]]:
        params = {"ref": ref} if ref else {}
        return list(self.client.get("/_sandbox/notifications", params=params).json()["attempts"])

    def wait_attempts(self, ref: str, count: int, timeout_s: float = WAIT_S) -> list[dict[str, Any]]:
        """Poll the notification log until ``ref`` has ``count`` recorded attempts."""

        def enough() -> list[dict[str, Any]] | None:
            attempts = self.attempts(ref)
            return attempts if len(attempts) >= count else None

        return list(wait_until(enough, timeout_s, f"{count} attempts for {ref}"))

    def webhooks(self, count: int, timeout_s: float = WAIT_S) -> list[dict[str, Any]]:
        """Wait for ``count`` webhooks of this test (since the last reset); returns their JSON bodies."""

        def enough() -> list[Any] | None:
            found = self.received_here()
            return found if len(found) >= count else None

        return [item.json() for item in wait_until(enough, timeout_s, f"{count} webhooks")]

    def received_count(self) -> int:
        return len(self.received_here())


MakeSandbox = Callable[..., Sandbox]


def fresh_connection_client(base_url: str) -> httpx.Client:
    """A client that opens a connection per request.

    serve_in_thread's listening socket is created with proto 0, so asyncio does not set
    TCP_NODELAY on accepted connections: on a kept-alive connection every response then waits
    ~40 ms for a delayed ACK. A new connection per request avoids that (~3 ms a request).
    """
    return httpx.Client(base_url=base_url, timeout=5.0, limits=httpx.Limits(max_keepalive_connections=0))
