"""POST /payouts against moto and the real BeilyPay sandbox: record first, create once, never re-send."""

from __future__ import annotations

import boto3
import httpx
import pytest

from bench.samples import payout_body
from tests.support.functions import api_event, body_of, invoke


def _post(merchant, body, headers=None):
    all_headers = {"Authorization": merchant.auth, **(headers or {})}
    return invoke("payout", api_event("POST", "/payouts", body=body, headers=all_headers))


def _item(merchant, out_order_no):
    key = {"pk": {"S": f"PAYOUT#{merchant.app_id}#{out_order_no}"}}
    return boto3.client("dynamodb").get_item(TableName="orders", Key=key).get("Item")


def test_a_payout_is_recorded_created_at_beilypay_and_polled(beilypay, aws):
    result = _post(beilypay, payout_body())

    assert result["statusCode"] == 201, result["body"]
    payout = body_of(result)
    assert payout["object"] == "payout"
    assert (payout["status"], payout["amount"], payout["currency"]) == ("pending", 150_000, "INR")
    at_beilypay = beilypay.sandbox_order("PO-0001")
    assert payout["provider_order_no"] == at_beilypay["orderNo"]
    assert at_beilypay["payAmount"] == 150_000
    assert at_beilypay["notifyUrl"] == f"http://127.0.0.1:9/callbacks/beilypay/{beilypay.app_id}"
    assert [e["name"] for e in beilypay.executions()] == [f"payout-{beilypay.app_id}-PO-0001"]


def test_the_ledger_keeps_only_the_last_4_account_digits_and_no_contact_data(beilypay, aws):
    _post(beilypay, payout_body())

    item = _item(beilypay, "PO-0001")
    assert item["account_last4"]["S"] == "1234"
    stored = str(item)
    for secret in ("123456781234", "asha@example.in", "9876543210", "MG Road"):
        assert secret not in stored


def test_an_identical_repeat_returns_the_stored_payout_and_creates_nothing(beilypay, aws):
    first = body_of(_post(beilypay, payout_body()))

    repeats = [_post(beilypay, payout_body()) for _ in range(2)]

    assert [r["statusCode"] for r in repeats] == [200, 200]
    assert {body_of(r)["provider_order_no"] for r in repeats} == {first["provider_order_no"]}
    orders = httpx.get(f"{beilypay.sandbox_url}/_sandbox/orders", params={"app_id": str(beilypay.beilypay_app_id)})
    assert len(orders.json()["orders"]) == 1
    assert len(beilypay.executions()) == 1


def test_whitespace_around_fields_is_trimmed_and_counts_as_the_same_body(beilypay, aws):
    _post(beilypay, payout_body())

    result = _post(beilypay, payout_body(account_owner="  Asha Verma ", address=" 12 MG Road, Bengaluru"))

    assert result["statusCode"] == 200


def test_the_same_out_order_no_with_another_body_is_a_conflict(beilypay, aws):
    _post(beilypay, payout_body())

    result = _post(beilypay, payout_body(amount=150_001))

    assert result["statusCode"] == 409
    assert body_of(result)["error"]["code"] == "out_order_no_conflict"


def test_idempotency_key_replays_the_first_answer(beilypay, aws):
    first = _post(beilypay, payout_body(), {"Idempotency-Key": "k-1"})
    replay = _post(beilypay, payout_body(), {"Idempotency-Key": "k-1"})
    reuse = _post(beilypay, payout_body("PO-0002"), {"Idempotency-Key": "k-1"})

    assert (first["statusCode"], replay["statusCode"]) == (201, 201)
    assert body_of(first) == body_of(replay)
    assert reuse["statusCode"] == 409
    assert body_of(reuse)["error"]["code"] == "idempotency_key_reuse"


INVALID = [
    ("ifsc", "SBIN1001234"),
    ("ifsc", "sbin0001234"),
    ("ifsc", "SBI00001234"),
    ("mobile", "12345"),
    ("mobile", "+919876543210"),
    ("mobile", "5876543210"),
    ("email", "not-an-email"),
    ("email", "a@b"),
    ("amount", 0),
    ("amount", -100),
    ("amount", 2_147_483_648),
    ("amount", 100.0),
    ("amount", "100"),
    ("account_type", "UPI"),
    ("account", "12AB5678"),
    ("account", "12345"),
    ("account", "1" * 21),
    ("account_owner", "   "),
    ("account_owner", "Asha\nVerma"),
    ("address", ""),
    ("bank_code", ""),
    ("out_order_no", "has space"),
    ("out_order_no", "x" * 33),
    ("out_order_no", "a/b"),
]


def test_invalid_payouts_are_refused_before_anything_is_recorded_or_sent(beilypay, aws):
    # One setup for all cases (each is a field rule, not a separate behaviour of the handler).
    for field, value in INVALID:
        result = _post(beilypay, payout_body(**{field: value}))

        assert result["statusCode"] == 422, (field, value, result["body"])
        error = body_of(result)["error"]
        assert error["code"] == "invalid_request"
        assert field in {d["field"] for d in error["details"]}, (field, error)
    assert _item(beilypay, "PO-0001") is None
    assert beilypay.sandbox_order("PO-0001") is None


def test_every_field_is_required(beilypay, aws):
    for missing in payout_body():
        body = payout_body()
        del body[missing]
        assert _post(beilypay, body)["statusCode"] == 422, missing
    assert beilypay.sandbox_order("PO-0001") is None


def test_unknown_fields_are_refused(beilypay, aws):
    assert _post(beilypay, payout_body(upi="x@bank"))["statusCode"] == 422


def test_insufficient_provider_balance_is_a_409_and_the_payout_failed(beilypay, aws):
    httpx.post(f"{beilypay.sandbox_url}/_sandbox/apps/{beilypay.beilypay_app_id}/balance", json={"balance": 100})

    result = _post(beilypay, payout_body())
    repeat = _post(beilypay, payout_body())

    assert result["statusCode"] == 409
    assert body_of(result)["error"]["code"] == "insufficient_provider_balance"
    assert (repeat["statusCode"], body_of(repeat)["error"]["code"]) == (409, "insufficient_provider_balance")
    assert _item(beilypay, "PO-0001")["status"]["S"] == "failed"
    assert beilypay.sandbox_order("PO-0001") is None


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ({"kind": "rate_limit"}, 429, "provider_rate_limited"),
        ({"kind": "code", "status": 10012}, 502, "channel_error"),
        ({"kind": "code", "status": 10013}, 502, "provider_rejected_request"),
        ({"kind": "code", "status": 10004}, 502, "provider_auth_failed"),
    ],
)
def test_definite_rejections_fail_the_payout_with_a_mapped_error(beilypay, aws, beilypay_faults, fault, status, code):
    httpx.post(f"{beilypay_faults}/_sandbox/faults", json={"scope": "request", "path": "/v2/trans/create", **fault})

    result = _post(beilypay, payout_body())

    assert (result["statusCode"], body_of(result)["error"]["code"]) == (status, code)
    assert "details" in body_of(result)["error"]
    assert _item(beilypay, "PO-0001")["status"]["S"] == "failed"
    assert aws.published_events() == []


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"kind": "hang", "process": True, "delay_s": 10}, id="answer-lost-after-processing"),
        pytest.param({"kind": "error", "status": 502}, id="gateway-error"),
        pytest.param({"kind": "malformed", "process": True}, id="truncated-answer"),
        pytest.param({"kind": "code", "status": 20001}, id="unknown-error-code"),
    ],
)
def test_a_lost_create_answer_makes_the_payout_unknown_reported_and_never_resent(beilypay, aws, beilypay_faults, fault):
    httpx.post(f"{beilypay_faults}/_sandbox/faults", json={"scope": "request", "path": "/v2/trans/create", **fault})

    first = _post(beilypay, payout_body())
    repeat = _post(beilypay, payout_body())

    assert first["statusCode"] == 202, first["body"]
    assert body_of(first)["status"] == "unknown"
    assert body_of(first)["unknown_reason"]
    assert (repeat["statusCode"], body_of(repeat)["status"]) == (200, "unknown")
    events = aws.published_events()
    assert [e["detail-type"] for e in events] == ["payout.unknown"]
    assert events[0]["detail"]["data"]["out_order_no"] == "PO-0001"
    orders = httpx.get(f"{beilypay.sandbox_url}/_sandbox/orders", params={"app_id": str(beilypay.beilypay_app_id)})
    assert len(orders.json()["orders"]) <= 1  # processed once at most, never a second create


def test_an_app_without_a_beilypay_account_cannot_pay_out(merchant, beilypay, aws):
    result = _post(merchant, payout_body())

    assert result["statusCode"] == 409
    assert body_of(result)["error"]["code"] == "provider_not_configured"


def test_payouts_need_an_api_key(beilypay, aws):
    result = invoke("payout", api_event("POST", "/payouts", body=payout_body()))
    assert result["statusCode"] == 401
