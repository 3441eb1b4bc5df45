"""The control API: apps registered at runtime, reset, health, bill inspection."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.beecloud.beecloud_support import APP_ID, Sandbox, md5, now_ms

NEW_APP = "5a8b1b2c-0d3e-4f50-8a6b-7c8d9e0f1a2b"


def _register(box: Sandbox, **overrides: Any) -> Any:
    body = {
        "app_id": NEW_APP,
        "app_secret": "new-secret",
        "master_secret": "new-master",
        "webhook_url": box.receiver_url,
        **overrides,
    }
    return box.client.post("/_sandbox/apps", json=body)


def test_registered_app_can_create_and_pay_bills(sandbox: Sandbox) -> None:
    created = _register(sandbox)
    assert (created.status_code, created.json()) == (201, {"app_id": NEW_APP, "created": True})
    timestamp = now_ms()
    body = {
        "app_id": NEW_APP,
        "timestamp": timestamp,
        "app_sign": md5(f"{NEW_APP}{timestamp}new-secret"),
        "channel": "WX_NATIVE",
        "total_fee": 5,
        "bill_no": "newapp01",
        "title": "t",
    }
    answer = sandbox.client.post("/1/rest/bill", json=body).json()
    assert answer["result_code"] == 0
    assert sandbox.client.get(answer["code_url"]).status_code == 200
    [webhook] = sandbox.webhooks(1)
    assert webhook["sign"] == md5(f"{NEW_APP}new-secret{webhook['timestamp']}")
    listed = sandbox.client.get("/_sandbox/apps").json()["apps"]
    assert {"app_id": NEW_APP, "webhook_url": sandbox.receiver_url} in listed
    assert all("app_secret" not in app for app in listed)


def test_registering_again_replaces_the_credentials(sandbox: Sandbox) -> None:
    _register(sandbox)
    again = _register(sandbox, app_secret="rotated")
    assert (again.status_code, again.json()["created"]) == (200, False)
    assert sandbox.emulator.store.apps[NEW_APP].app_secret == "rotated"


@pytest.mark.parametrize(
    "overrides",
    [{"app_id": "not-a-uuid"}, {"app_secret": ""}, {"webhook_url": None}, {"test_secret": 5}],
)
def test_invalid_apps_are_rejected(sandbox: Sandbox, overrides: dict[str, Any]) -> None:
    response = _register(sandbox, **overrides)
    assert response.status_code == 400
    assert response.json()["error"]


def test_missing_fields_and_non_json_are_rejected(sandbox: Sandbox) -> None:
    assert sandbox.client.post("/_sandbox/apps", json={"app_id": NEW_APP}).status_code == 400
    assert sandbox.client.post("/_sandbox/apps", content=b"[1]").status_code == 400


def test_reset_forgets_bills_but_keeps_apps(sandbox: Sandbox) -> None:
    _register(sandbox)
    sandbox.paid_bill(bill_no="reset001")
    sandbox.webhooks(1)
    assert sandbox.client.post("/_sandbox/reset").json() == {"ok": True}
    assert sandbox.client.get(f"/_sandbox/bills/{APP_ID}/reset001").status_code == 404
    assert sandbox.client.get("/_sandbox/notifications").json() == {"attempts": []}
    assert NEW_APP in sandbox.emulator.store.apps
    assert sandbox.bill(bill_no="reset001")["result_code"] == 0


def test_health(sandbox: Sandbox) -> None:
    assert sandbox.client.get("/_sandbox/health").json() == {"ok": True}


def test_bill_inspection(sandbox: Sandbox) -> None:
    sandbox.bill("ALI_QRCODE", bill_no="insp0001", optional={"x": [1]})
    state = sandbox.control_bill("insp0001")
    assert state["paid"] is False
    assert state["paid_time"] is None
    assert state["channel"] == "ALI_QRCODE"
    assert state["qr_pay_mode"] == "1"
    assert state["optional"] == {"x": [1]}
    assert state["pay_url"] == f"{sandbox.url}/pay/{APP_ID}/insp0001"
    assert state["webhook_ref"] == f"{APP_ID}/PAY/insp0001"
    assert state["refunds"] == []
