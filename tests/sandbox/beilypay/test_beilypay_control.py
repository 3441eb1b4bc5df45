"""The BeilyPay control API: apps, balances, order state, forced completion, reset."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.beilypay.beilypay_support import APP_ID, BALANCE, MERCHANT_ID, Sandbox


def test_register_app_then_use_it(sandbox: Sandbox) -> None:
    created = sandbox.client.post(
        "/_sandbox/apps", json={"app_id": 9001, "merchant_id": 91, "secret": "s-9001", "balance": 2_500}
    )

    assert created.status_code == 201
    assert created.json() == {
        "app_id": 9001,
        "merchant_id": 91,
        "balance": 2_500,
        "settlementAmount": 25.0,
        "rate_limit_per_s": None,
    }
    answer = sandbox.call("/merchant/accountInfo", {"appId": 9001, "merchantId": 91}, secret="s-9001")
    assert answer["data"]["settlementAmount"] == 25.0


def test_registering_again_replaces_the_app(sandbox: Sandbox) -> None:
    body = {"app_id": 9002, "merchant_id": 92, "secret": "old", "balance": 1}
    assert sandbox.client.post("/_sandbox/apps", json=body).status_code == 201

    again = sandbox.client.post("/_sandbox/apps", json={**body, "secret": "new", "balance": 500})

    assert again.status_code == 200
    assert sandbox.call("/merchant/accountInfo", {"appId": 9002, "merchantId": 92}, secret="new")["code"] == 200
    assert sandbox.call("/merchant/accountInfo", {"appId": 9002, "merchantId": 92}, secret="old")["code"] == 10004


def test_list_apps_hides_secrets(sandbox: Sandbox) -> None:
    apps = sandbox.client.get("/_sandbox/apps").json()["apps"]

    sample = next(app for app in apps if app["app_id"] == APP_ID)
    assert sample["balance"] == BALANCE
    assert all("secret" not in app for app in apps)


@pytest.mark.parametrize(
    "body",
    [
        {"merchant_id": 1, "secret": "s"},
        {"app_id": "x", "merchant_id": 1, "secret": "s"},
        {"app_id": 1, "merchant_id": 1, "secret": ""},
        {"app_id": 1, "merchant_id": 1, "secret": "s", "balance": -1},
        {"app_id": 1, "merchant_id": 1, "secret": "s", "rate_limit_per_s": 0},
        {"app_id": 1, "merchant_id": 1, "secret": "s", "colour": "red"},
        [1],
    ],
)
def test_bad_app_is_a_400(sandbox: Sandbox, body: Any) -> None:
    response = sandbox.client.post("/_sandbox/apps", json=body)

    assert response.status_code == 400
    assert response.json()["error"]


def test_set_balance(sandbox: Sandbox) -> None:
    response = sandbox.client.post(f"/_sandbox/apps/{APP_ID}/balance", json={"balance": 99_990})

    assert response.status_code == 200
    assert response.json()["balance"] == 99_990
    assert sandbox.balance() == 999.9


@pytest.mark.parametrize("balance", [-5, "100", 1.5, None, True])
def test_bad_balance_is_a_400(sandbox: Sandbox, balance: Any) -> None:
    response = sandbox.client.post(f"/_sandbox/apps/{APP_ID}/balance", json={"balance": balance})

    assert response.status_code == 400
    assert sandbox.balance() == BALANCE / 100


def test_balance_of_an_unknown_app_is_a_404(sandbox: Sandbox) -> None:
    response = sandbox.client.post("/_sandbox/apps/123/balance", json={"balance": 1})

    assert response.status_code == 404
    assert response.json()["code"] == 10002


def test_order_state(sandbox: Sandbox) -> None:
    order_no = sandbox.create_collection("S-1")["data"]["orderNo"]

    state = sandbox.order_state(order_no)

    assert state["kind"] == "collection"
    assert (state["orderNo"], state["outOrderNo"], state["status"], state["paid"]) == (order_no, "S-1", 1, None)
    assert (state["appId"], state["merchantId"], state["payAmount"]) == (APP_ID, MERCHANT_ID, 50_000)
    assert state["details"]["userName"] == "Ravi"


def test_unknown_order_is_a_404(sandbox: Sandbox) -> None:
    assert sandbox.client.get("/_sandbox/orders/nope").status_code == 404
    response = sandbox.client.post("/_sandbox/payouts/nope/complete", json={"status": 2})
    assert (response.status_code, response.json()["code"]) == (404, 10003)


def test_completing_with_the_wrong_kind_is_a_404(sandbox: Sandbox) -> None:
    order_no = sandbox.create_collection("S-kind")["data"]["orderNo"]

    response = sandbox.client.post(f"/_sandbox/payouts/{order_no}/complete", json={"status": 2})

    assert response.status_code == 404


@pytest.mark.parametrize(
    "body", [{"status": 1}, {"status": "2"}, {}, {"status": 2, "paid": -1}, {"status": 3, "paid": 10}]
)
def test_bad_completion_is_a_400(sandbox: Sandbox, body: dict[str, Any]) -> None:
    order_no = sandbox.create_collection("S-bad")["data"]["orderNo"]

    response = sandbox.client.post(f"/_sandbox/collections/{order_no}/complete", json=body)

    assert response.status_code == 400
    assert sandbox.order_state(order_no)["status"] == 1


def test_completing_a_finished_collection_is_10009(sandbox: Sandbox) -> None:
    order_no = sandbox.create_collection("S-done")["data"]["orderNo"]
    assert sandbox.client.post(f"/_sandbox/collections/{order_no}/complete", json={"status": 2}).status_code == 200

    again = sandbox.client.post(f"/_sandbox/collections/{order_no}/complete", json={"status": 3})

    assert again.status_code == 409
    assert again.json()["code"] == 10009
    assert sandbox.order_state(order_no)["status"] == 2


def test_orders_can_be_found_by_out_order_no(sandbox: Sandbox) -> None:
    order_no = sandbox.create_collection("S-find")["data"]["orderNo"]

    found = sandbox.client.get("/_sandbox/orders", params={"app_id": APP_ID, "out_order_no": "S-find"}).json()

    assert [o["orderNo"] for o in found["orders"]] == [order_no]
    assert sandbox.client.get("/_sandbox/orders", params={"app_id": "x"}).status_code == 400


def test_reset_forgets_orders_and_restores_balances(sandbox: Sandbox) -> None:
    order_no = sandbox.create_payout("S-reset", account="1119999")["data"]["orderNo"]
    sandbox.add_fault(scope="request", kind="error")
    sandbox.client.post("/_sandbox/faults", json={"scope": "callback", "kind": "drop"})
    sandbox.client.post("/_sandbox/apps", json={"app_id": 9100, "merchant_id": 10, "secret": "k", "balance": 7})
    sandbox.client.post("/_sandbox/apps/9100/balance", json={"balance": 1})

    assert sandbox.client.post("/_sandbox/reset").json() == {"ok": True}

    assert sandbox.client.get("/_sandbox/faults").json()["faults"] == []
    assert sandbox.query("/v2/trans/query", order_no)["code"] == 10003
    assert sandbox.balance() == BALANCE / 100
    assert sandbox.call("/merchant/accountInfo", {"appId": 9100, "merchantId": 10}, secret="k")["data"] == {
        "merchantId": 10,
        "settlementAmount": 0.07,
        "sign": sandbox.call("/merchant/accountInfo", {"appId": 9100, "merchantId": 10}, secret="k")["data"]["sign"],
    }
    assert sandbox.create_payout("S-reset")["code"] == 200  # the outOrderNo is free again


def test_health(sandbox: Sandbox) -> None:
    assert sandbox.client.get("/_sandbox/health").json() == {"ok": True}
