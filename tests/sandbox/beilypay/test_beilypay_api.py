"""Every public endpoint over real HTTP: success shapes, signatures and each error path."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from tests.sandbox.beilypay.beilypay_support import (
    APP_ID,
    BALANCE,
    MERCHANT_ID,
    SECRET,
    Sandbox,
    collection_request,
    payout_request,
    seed_sign,
    signed,
    verify_seed_sign,
)

TRANS_VO = {"appId", "merchantId", "outOrderNo", "payAmount", "status", "orderNo", "transTime", "sign"}
TRANS_ORDER_VO = TRANS_VO - {"transTime"}
PAY_VO = {"outOrderNo", "payAmount", "payUrl", "orderNo", "sign"}
PAYMENT_ORDER_VO = {"outOrderNo", "paid", "payAmount", "status", "orderNo", "transTime", "sign"}
IST = timezone(timedelta(hours=5, minutes=30))

pytestmark = pytest.mark.clock  # dates: run under shifted clocks by `make test-clock`


def error_of(answer: dict[str, Any]) -> tuple[int, str]:
    assert answer["data"] is None
    return answer["code"], answer["msg"]


def test_trans_create_answers_a_signed_trans_vo(sandbox: Sandbox) -> None:
    before = datetime.now(IST)
    answer = sandbox.create_payout("P-1")
    after = datetime.now(IST)  # IST midnight (18:30 UTC) may fall between the two

    assert (answer["code"], answer["msg"]) == (200, "SUCC")
    data = answer["data"]
    assert set(data) == TRANS_VO
    assert verify_seed_sign(data)
    assert data["sign"] == data["sign"].upper()
    assert (data["appId"], data["merchantId"], data["outOrderNo"]) == (APP_ID, MERCHANT_ID, "P-1")
    assert (data["payAmount"], data["status"]) == (12_345, 1)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", data["transTime"])
    assert re.fullmatch(r"\d{18}", data["orderNo"])
    assert data["orderNo"][:6] in {before.strftime("%y%m%d"), after.strftime("%y%m%d")}


def test_order_numbers_are_unique(sandbox: Sandbox) -> None:
    numbers = {sandbox.create_payout(f"U-{i}")["data"]["orderNo"] for i in range(5)}

    assert len(numbers) == 5


def test_numbers_may_arrive_as_strings(sandbox: Sandbox) -> None:
    answer = sandbox.create_payout(
        "P-str", appId=str(APP_ID), merchantId=str(MERCHANT_ID), payAmount="20000", mobile=9876543210
    )

    assert answer["code"] == 200
    assert answer["data"]["payAmount"] == 20_000
    assert answer["data"]["appId"] == APP_ID


def test_optional_contact_fields_may_be_absent(sandbox: Sandbox) -> None:
    answer = sandbox.create_payout("P-min", email=None, mobile=None)

    assert answer["code"] == 200


@pytest.mark.parametrize("account_type", ["UPI", "card", "Wallet"])
def test_only_card_payouts_are_supported(sandbox: Sandbox, account_type: str) -> None:
    answer = sandbox.create_payout("P-type", accountType=account_type)

    assert error_of(answer) == (10011, "trans account type not support")


@pytest.mark.parametrize(
    ("field", "value", "detail"),
    [
        ("account", None, "account is required"),
        ("accountOwner", "", "accountOwner is required"),
        ("bankCode", None, "bankCode is required"),
        ("ifsc", None, "ifsc is required"),
        ("accountType", None, "accountType is required"),
        ("notifyUrl", None, "notifyUrl is required"),
        ("notifyUrl", "not a url", "notifyUrl must be an http(s) URL"),
        ("outOrderNo", None, "outOrderNo is required"),
        ("outOrderNo", "x" * 65, "outOrderNo is longer than 64 characters"),
        ("payAmount", None, "payAmount is required"),
        ("payAmount", 99, "payAmount must be between 100 and 2147483647"),
        ("payAmount", 0, "payAmount must be between"),
        ("payAmount", -500, "payAmount must be"),
        ("payAmount", 150.5, "payAmount must be an integer"),
        ("payAmount", "12.50", "payAmount must be an integer"),
        ("payAmount", True, "payAmount must be an integer"),
        ("payAmount", 2**31, "payAmount must be between"),
        ("mobile", "12345", "mobile must be 10 digits"),
        ("mobile", "98765432101", "mobile must be 10 digits"),
        ("email", "not-an-email", "email is not an email address"),
    ],
)
def test_bad_payout_fields_are_param_errors(sandbox: Sandbox, field: str, value: Any, detail: str) -> None:
    params = payout_request("P-bad", sandbox.notify_url)
    params[field] = value
    params = {k: v for k, v in params.items() if v is not None}

    code, msg = error_of(sandbox.call("/v2/trans/create", params))

    assert code == 10013
    assert detail in msg


def test_duplicate_out_order_no_is_rejected(sandbox: Sandbox) -> None:
    first = sandbox.create_payout("P-dup")

    again = sandbox.create_payout("P-dup")

    assert first["code"] == 200
    assert error_of(again) == (10013, "param error: outOrderNo duplicate")
    assert sandbox.balance() == (BALANCE - 12_345) / 100  # drawn once only


def test_the_same_out_order_no_may_be_used_for_a_collection(sandbox: Sandbox) -> None:
    assert sandbox.create_payout("SHARED")["code"] == 200

    assert sandbox.create_collection("SHARED")["code"] == 200


def test_payout_larger_than_the_balance_is_refused(sandbox: Sandbox) -> None:
    answer = sandbox.create_payout("P-big", payAmount=BALANCE + 1)

    assert error_of(answer) == (10005, "account balance not enough")
    assert sandbox.balance() == BALANCE / 100


def test_payout_of_exactly_the_balance_is_accepted(sandbox: Sandbox) -> None:
    assert sandbox.create_payout("P-all", payAmount=BALANCE)["code"] == 200

    assert sandbox.balance() == 0


def test_wrong_signature_is_10004(sandbox: Sandbox) -> None:
    params = signed(payout_request("P-sig", sandbox.notify_url))
    params["payAmount"] = 99_999  # tampered after signing

    answer = sandbox.client.post("/v2/trans/create", json=params).json()

    assert error_of(answer) == (10004, "sign check error")


def test_signature_with_another_secret_is_10004(sandbox: Sandbox) -> None:
    answer = sandbox.call("/merchant/accountInfo", {"appId": APP_ID, "merchantId": MERCHANT_ID}, secret="x")

    assert error_of(answer) == (10004, "sign check error")


def test_missing_signature_is_a_param_error(sandbox: Sandbox) -> None:
    answer = sandbox.client.post("/merchant/accountInfo", json={"appId": APP_ID, "merchantId": MERCHANT_ID})

    assert error_of(answer.json())[0] == 10013
    assert "sign" in answer.json()["msg"]


def test_unknown_merchant_is_10001(sandbox: Sandbox) -> None:
    answer = sandbox.call("/merchant/accountInfo", {"appId": APP_ID, "merchantId": 404})

    assert error_of(answer) == (10001, "merchantId not exist")


def test_unknown_app_is_10002(sandbox: Sandbox) -> None:
    answer = sandbox.call("/merchant/accountInfo", {"appId": 42, "merchantId": MERCHANT_ID})

    assert error_of(answer) == (10002, "appId not exist")


def test_app_of_another_merchant_is_10002(sandbox: Sandbox) -> None:
    created = sandbox.client.post("/_sandbox/apps", json={"app_id": 77, "merchant_id": 8, "secret": "s8", "balance": 0})
    assert created.status_code == 201

    answer = sandbox.call("/merchant/accountInfo", {"appId": 77, "merchantId": MERCHANT_ID})

    assert error_of(answer) == (10002, "appId not exist")


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        (b"appId=1", "application/x-www-form-urlencoded", "Content-Type"),
        (b'{"appId": 1}', "text/plain", "Content-Type"),
        (b"{not json", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "JSON object"),
        (b"\xff\xfe", "application/json", "not valid JSON"),
        (b'{"merchantId": 3, "sign": "x"}', "application/json", "appId is required"),
        (b'{"appId": "abc", "merchantId": 3, "sign": "x"}', "application/json", "appId must be an integer"),
    ],
)
def test_unreadable_requests_are_param_errors(sandbox: Sandbox, body: bytes, content_type: str, detail: str) -> None:
    response = sandbox.client.post("/v2/trans/query", content=body, headers={"content-type": content_type})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    code, msg = error_of(response.json())
    assert code == 10013
    assert detail in msg


def test_java_content_type_with_charset_is_accepted(sandbox: Sandbox) -> None:
    params = signed({"appId": APP_ID, "merchantId": MERCHANT_ID})

    response = sandbox.client.post(
        "/merchant/accountInfo",
        content=json.dumps(params).encode(),
        headers={"content-type": "application/json;charset=UTF-8"},
    )

    assert response.json()["code"] == 200


def test_trans_query_answers_a_trans_order_vo_without_trans_time(sandbox: Sandbox) -> None:
    order_no = sandbox.create_payout("P-q", account="5555559999")["data"]["orderNo"]  # stays pending

    answer = sandbox.query("/v2/trans/query", order_no)

    data = answer["data"]
    assert answer["code"] == 200
    assert set(data) == TRANS_ORDER_VO
    assert verify_seed_sign(data)
    assert (data["orderNo"], data["outOrderNo"], data["status"]) == (order_no, "P-q", 1)


def test_query_of_an_unknown_order_is_10003(sandbox: Sandbox) -> None:
    assert error_of(sandbox.query("/v2/trans/query", "999999"))[0] == 10003
    assert error_of(sandbox.query("/v2/payment/query", "999999"))[0] == 10003


def test_orders_are_only_visible_to_their_own_kind_and_app(sandbox: Sandbox) -> None:
    payout_no = sandbox.create_payout("P-kind")["data"]["orderNo"]
    collection_no = sandbox.create_collection("C-kind")["data"]["orderNo"]
    sandbox.client.post("/_sandbox/apps", json={"app_id": 55, "merchant_id": MERCHANT_ID, "secret": "other"})

    assert error_of(sandbox.query("/v2/payment/query", payout_no))[0] == 10003
    assert error_of(sandbox.query("/v2/trans/query", collection_no))[0] == 10003
    other = sandbox.call(
        "/v2/trans/query", {"appId": 55, "merchantId": MERCHANT_ID, "orderNo": payout_no}, secret="other"
    )
    assert error_of(other)[0] == 10003


def test_query_without_order_no_is_a_param_error(sandbox: Sandbox) -> None:
    answer = sandbox.call("/v2/payment/query", {"appId": APP_ID, "merchantId": MERCHANT_ID})

    assert error_of(answer) == (10013, "param error: orderNo is required")


def test_payment_create_answers_a_pay_vo_with_the_pay_url(sandbox: Sandbox) -> None:
    answer = sandbox.create_collection("C-1")

    data = answer["data"]
    assert answer["code"] == 200
    assert set(data) == PAY_VO
    assert verify_seed_sign(data)
    assert data["payUrl"] == f"{sandbox.server.url}/pay/{data['orderNo']}"
    assert (data["outOrderNo"], data["payAmount"]) == ("C-1", 50_000)


def test_payment_create_accepts_what_the_old_php_sdk_sends(sandbox: Sandbox) -> None:
    params = collection_request("C-php", sandbox.notify_url, email=None, mobile=9123456789, frontCallback=None)
    params.update({"userId": None, "userName": None})

    assert sandbox.call("/v2/payment/create", params, upper=False)["code"] == 200


@pytest.mark.parametrize(
    ("field", "value", "detail"),
    [
        ("notifyUrl", None, "notifyUrl is required"),
        ("frontCallback", "javascript:alert(1)", "frontCallback must be an http(s) URL"),
        ("payAmount", "abc", "payAmount must be an integer"),
        ("outOrderNo", " ", "outOrderNo is required"),
        ("mobile", "phone", "mobile must be 10 digits"),
    ],
)
def test_bad_collection_fields_are_param_errors(sandbox: Sandbox, field: str, value: Any, detail: str) -> None:
    params = collection_request("C-bad", sandbox.notify_url)
    params[field] = value
    params = {k: v for k, v in params.items() if v is not None}

    code, msg = error_of(sandbox.call("/v2/payment/create", params))

    assert code == 10013
    assert detail in msg


def test_payment_query_of_a_pending_order_has_no_paid_or_trans_time(sandbox: Sandbox) -> None:
    order_no = sandbox.create_collection("C-q")["data"]["orderNo"]

    data = sandbox.query("/v2/payment/query", order_no)["data"]

    assert set(data) == PAYMENT_ORDER_VO
    assert (data["status"], data["paid"], data["transTime"]) == (1, None, None)
    assert verify_seed_sign(data)  # nulls are left out of the signature


def test_account_info_on_both_paths(sandbox: Sandbox) -> None:
    for path in ("/merchant/accountInfo", "/v2/merchant/accountInfo"):
        params = signed({"appId": APP_ID, "merchantId": MERCHANT_ID})
        response = sandbox.client.post(path, json=params)
        answer = json.loads(response.text, parse_float=Decimal)

        assert (answer["code"], answer["msg"]) == (200, "SUCC")
        assert set(answer["data"]) == {"merchantId", "settlementAmount", "sign"}
        assert answer["data"]["settlementAmount"] == Decimal("10000.00")
        assert '"settlementAmount":10000.00' in response.text  # INR with exactly two decimals
        assert seed_sign(answer["data"], SECRET) == answer["data"]["sign"]


def test_balance_with_paise(sandbox: Sandbox) -> None:
    sandbox.client.post(f"/_sandbox/apps/{APP_ID}/balance", json={"balance": 123_456})

    response = sandbox.client.post("/merchant/accountInfo", json=signed({"appId": APP_ID, "merchantId": MERCHANT_ID}))

    assert json.loads(response.text, parse_float=Decimal)["data"]["settlementAmount"] == Decimal("1234.56")


def test_rate_limit_per_app(sandbox: Sandbox) -> None:
    sandbox.client.post("/_sandbox/apps", json={"app_id": 66, "merchant_id": 6, "secret": "s6", "rate_limit_per_s": 2})
    params = {"appId": 66, "merchantId": 6}

    codes = [sandbox.call("/merchant/accountInfo", params, secret="s6")["code"] for _ in range(3)]

    assert codes == [200, 200, 10006]
    assert sandbox.call("/merchant/accountInfo", {"appId": APP_ID, "merchantId": MERCHANT_ID})["code"] == 200


def test_get_on_an_api_path_is_not_allowed(sandbox: Sandbox) -> None:
    assert sandbox.client.get("/v2/trans/create").status_code == 405
