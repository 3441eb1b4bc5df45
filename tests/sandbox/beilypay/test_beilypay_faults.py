"""Failure injection on the BeilyPay emulator: request faults, business-error faults, callback faults."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.sandbox.beilypay.beilypay_support import (
    APP_ID,
    BALANCE,
    TIME_SCALE,
    Sandbox,
    collection_request,
    payout_request,
    signed,
    verify_seed_sign,
)


def orders_by_out_order_no(sandbox: Sandbox, out_order_no: str) -> list[dict[str, object]]:
    response = sandbox.client.get("/_sandbox/orders", params={"app_id": APP_ID, "out_order_no": out_order_no})
    return list(response.json()["orders"])


def test_latency_delays_a_normal_answer(sandbox: Sandbox) -> None:
    sandbox.add_fault(scope="request", kind="latency", path="/merchant/accountInfo", delay_s=30)

    started = time.monotonic()
    balance = sandbox.balance()

    assert time.monotonic() - started >= 30 * TIME_SCALE
    assert balance == BALANCE / 100


def test_error_answers_5xx_and_creates_nothing(sandbox: Sandbox) -> None:
    sandbox.add_fault(scope="request", kind="error", path="/v2/trans/create", status=502)

    response = sandbox.client.post("/v2/trans/create", json=signed(payout_request("F-err", sandbox.notify_url)))

    assert response.status_code == 502
    assert orders_by_out_order_no(sandbox, "F-err") == []
    assert sandbox.balance() == BALANCE / 100


def test_hang_with_process_creates_the_order_but_loses_the_answer(sandbox: Sandbox) -> None:
    sandbox.add_fault(scope="request", kind="hang", path="/v2/trans/create", delay_s=100, process=True)
    params = signed(payout_request("F-hang", sandbox.notify_url, account="0000009999"))

    with pytest.raises(httpx.ReadTimeout):
        sandbox.client.post("/v2/trans/create", json=params, timeout=0.3)

    orders = orders_by_out_order_no(sandbox, "F-hang")
    assert len(orders) == 1
    assert orders[0]["status"] == 1
    retry = sandbox.client.post("/v2/trans/create", json=params).json()
    assert (retry["code"], retry["msg"]) == (10013, "param error: outOrderNo duplicate")


def test_hang_without_process_does_nothing(sandbox: Sandbox) -> None:
    sandbox.add_fault(scope="request", kind="hang", path="/v2/payment/create", delay_s=100)

    params = signed(collection_request("F-hang2", sandbox.notify_url))

    with pytest.raises(httpx.ReadTimeout):
        sandbox.client.post("/v2/payment/create", json=params, timeout=0.3)

    assert sandbox.create_collection("F-hang2")["code"] == 200


def test_malformed_processes_and_returns_broken_json(sandbox: Sandbox) -> None:
    sandbox.add_fault(scope="request", kind="malformed", path="/v2/payment/create")
    params = signed(collection_request("F-bad-json", sandbox.notify_url))

    response = sandbox.client.post("/v2/payment/create", json=params)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert len(orders_by_out_order_no(sandbox, "F-bad-json")) == 1


def test_rate_limit_fault_is_10006_without_processing(sandbox: Sandbox) -> None:
    sandbox.add_fault(scope="request", kind="rate_limit", path="/v2/trans/create")

    answer = sandbox.create_payout("F-rate")

    assert (answer["code"], answer["msg"], answer["data"]) == (10006, "your requests are too frequent", None)
    assert orders_by_out_order_no(sandbox, "F-rate") == []
    assert sandbox.create_payout("F-rate")["code"] == 200


@pytest.mark.parametrize(
    ("code", "msg"),
    [
        (20001, "unknow error"),
        (10008, "transaction fail"),
        (10007, "your account setting error"),
        (500, "服务异常，请重试"),
    ],
)
def test_code_fault_answers_any_business_error(sandbox: Sandbox, code: int, msg: str) -> None:
    sandbox.add_fault(scope="request", kind="code", status=code)

    answer = sandbox.create_collection("F-code")

    assert (answer["code"], answer["msg"], answer["data"]) == (code, msg, None)
    assert orders_by_out_order_no(sandbox, "F-code") == []


def test_faults_count_down(sandbox: Sandbox) -> None:
    sandbox.add_fault(scope="request", kind="rate_limit", count=2)

    codes = [sandbox.call("/merchant/accountInfo", {"appId": APP_ID, "merchantId": 3})["code"] for _ in range(3)]

    assert codes == [10006, 10006, 200]


def test_pay_page_is_subject_to_request_faults(sandbox: Sandbox) -> None:
    created = sandbox.create_collection("F-page")["data"]
    sandbox.add_fault(scope="request", kind="error", path="/pay/", status=503)

    assert httpx.get(created["payUrl"]).status_code == 503
    assert sandbox.order_state(created["orderNo"])["status"] == 1


def test_dropped_notify_never_arrives(sandbox: Sandbox) -> None:
    sandbox.add_fault(scope="callback", kind="drop")
    created = sandbox.create_collection("F-drop")["data"]

    httpx.get(created["payUrl"])
    attempts = sandbox.wait_attempts(created["orderNo"], 1)
    time.sleep(0.1)

    assert attempts[0]["fault"] == "drop"
    assert sandbox.receiver.received == []
    assert len(sandbox.attempts(created["orderNo"])) == 1


def test_duplicated_notify_arrives_twice(sandbox: Sandbox) -> None:
    sandbox.add_fault(scope="callback", kind="duplicate")
    created = sandbox.create_collection("F-dup")["data"]

    httpx.get(created["payUrl"])
    first, second = sandbox.receiver.wait_for(2)

    assert first.raw == second.raw
    assert verify_seed_sign(first.json())


def test_bad_signature_notify_fails_verification(sandbox: Sandbox) -> None:
    sandbox.add_fault(scope="callback", kind="bad_signature")
    created = sandbox.create_collection("F-sig")["data"]

    httpx.get(created["payUrl"])
    body = sandbox.receiver.wait_for(1)[0].json()

    assert body["orderNo"] == created["orderNo"]
    assert not verify_seed_sign(body)


def test_out_of_order_notify_arrives_after_the_next_one(sandbox: Sandbox) -> None:
    sandbox.add_fault(scope="callback", kind="out_of_order", delay_s=500)
    first = sandbox.create_collection("F-first")["data"]
    second = sandbox.create_collection("F-second")["data"]

    httpx.get(first["payUrl"])
    httpx.get(second["payUrl"])
    received = sandbox.receiver.wait_for(2, timeout_s=3)

    assert [r.json()["orderNo"] for r in received] == [second["orderNo"], first["orderNo"]]


def test_delayed_notify(sandbox: Sandbox) -> None:
    sandbox.add_fault(scope="callback", kind="delay", delay_s=30)
    created = sandbox.create_collection("F-delay")["data"]

    paid_at = time.time()
    httpx.get(created["payUrl"])
    received = sandbox.receiver.wait_for(1)

    assert received[0].at - paid_at >= 30 * TIME_SCALE * 0.9


def test_callback_fault_can_target_one_order(sandbox: Sandbox) -> None:
    created = sandbox.create_collection("F-target")["data"]
    other = sandbox.create_collection("F-other")["data"]
    sandbox.add_fault(scope="callback", kind="drop", path=created["orderNo"])

    httpx.get(other["payUrl"])
    httpx.get(created["payUrl"])
    sandbox.wait_attempts(created["orderNo"], 1)

    assert [r.json()["orderNo"] for r in sandbox.receiver.wait_for(1)] == [other["orderNo"]]


@pytest.mark.parametrize(("kind", "expected"), [("missing_field", "absent"), ("wrong_type", "retyped")])
def test_field_fault_creates_the_order_and_answers_json_with_one_field_broken(
    sandbox: Sandbox, kind: str, expected: str
) -> None:
    sandbox.add_fault(scope="request", kind=kind, path="/v2/trans/create", field="data.orderNo")
    out_order_no = f"F-{kind}"

    answer = sandbox.client.post("/v2/trans/create", json=signed(payout_request(out_order_no, sandbox.notify_url)))

    body = answer.json()  # valid JSON
    assert body["code"] == 200
    orders = orders_by_out_order_no(sandbox, out_order_no)
    assert len(orders) == 1  # the order exists: only the answer is broken
    if expected == "absent":
        assert "orderNo" not in body["data"]
    else:
        assert body["data"]["orderNo"] == [orders[0]["orderNo"]]
