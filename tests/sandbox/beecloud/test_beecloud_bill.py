"""``POST /1/rest/bill``: every channel's answer, authentication and the QA validation matrix."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.sandbox.beecloud.beecloud_support import (
    APP_ID,
    MASTER_SECRET,
    OTHER_APP_ID,
    OTHER_APP_SECRET,
    TEST_SECRET,
    Sandbox,
    md5,
    now_ms,
)

CHANNEL_FIELDS = {
    "WX_APP": {"app_id", "partner_id", "package", "nonce_str", "timestamp", "pay_sign", "prepay_id"},
    "WX_NATIVE": {"code_url"},
    "WX_JSAPI": {"app_id", "package", "nonce_str", "timestamp", "pay_sign", "sign_type"},
    "ALI_APP": {"order_string"},
    "ALI_WEB": {"html", "url"},
    "ALI_WAP": {"html", "url"},
    "ALI_QRCODE": {"html", "url"},
    "UN_APP": {"tn"},
    "UN_WEB": {"html"},
}


@pytest.mark.parametrize("channel", sorted(CHANNEL_FIELDS))
def test_each_channel_returns_its_fields(sandbox: Sandbox, channel: str) -> None:
    answer = sandbox.bill(channel, bill_no="chan" + channel.replace("_", ""))
    assert answer["result_code"] == 0
    assert answer["result_msg"] == "OK"
    assert answer["err_detail"] == ""
    assert re.fullmatch(r"[0-9a-f-]{36}", answer["id"])
    assert CHANNEL_FIELDS[channel] <= set(answer)
    assert all(isinstance(answer[name], str) and answer[name] for name in CHANNEL_FIELDS[channel])


def test_wechat_fields_are_well_formed(sandbox: Sandbox) -> None:
    app = sandbox.bill("WX_APP", bill_no="wxapp1")
    assert re.fullmatch(r"\d{13}", app["timestamp"])
    assert re.fullmatch(r"[0-9A-F]{32}", app["pay_sign"])
    assert app["app_id"].startswith("wx")
    jsapi = sandbox.bill("WX_JSAPI", bill_no="wxjs1")
    assert jsapi["sign_type"] == "MD5"
    assert jsapi["package"].startswith("prepay_id=wx")
    assert re.fullmatch(r"\d{13}", jsapi["timestamp"])


def test_pay_urls_point_at_the_sandbox(sandbox: Sandbox) -> None:
    pay = f"{sandbox.url}/pay/{APP_ID}"
    assert sandbox.bill("WX_NATIVE", bill_no="u1")["code_url"] == f"{pay}/u1"
    web = sandbox.bill("ALI_WEB", bill_no="u2")
    assert web["url"] == f"{pay}/u2"
    assert f'action="{pay}/u2"' in web["html"]
    assert "show_url" in web["html"]
    qr = sandbox.bill("ALI_QRCODE", bill_no="u3")
    assert qr["url"] == f"{pay}/u3"
    assert 'name="qr_pay_mode" value="1"' in qr["html"]
    assert f'action="{pay}/u4"' in sandbox.bill("UN_WEB", bill_no="u4")["html"]
    assert f"{pay}/u5" in sandbox.bill("ALI_APP", bill_no="u5")["order_string"]
    assert re.fullmatch(r"\d{21}", sandbox.bill("UN_APP", bill_no="u6")["tn"])


def test_ali_wap_answers_alipays_mobile_cashier_form_pointing_at_the_pay_page(sandbox: Sandbox) -> None:
    pay = f"{sandbox.url}/pay/{APP_ID}"
    wap = sandbox.bill("ALI_WAP", bill_no="wap00001")
    assert wap["url"] == f"{pay}/wap00001"
    assert f'action="{pay}/wap00001"' in wap["html"]
    assert 'name="service" value="alipay.wap.create.direct.pay.by.user"' in wap["html"]
    assert 'name="app_pay" value="Y"' in wap["html"]  # use_app: true
    browser = sandbox.bill("ALI_WAP", bill_no="wap00002", use_app=False, return_url=None)
    assert "app_pay" not in browser["html"]
    assert "return_url" not in browser["html"]


def test_public_url_overrides_request_base(make_sandbox: Any) -> None:
    box = make_sandbox(public_url="https://sandbox.example/bc/")
    assert box.bill("WX_NATIVE", bill_no="pub1")["code_url"] == f"https://sandbox.example/bc/pay/{APP_ID}/pub1"


def _signed(app_id: str, timestamp: int, secret: str) -> dict[str, Any]:
    return {"app_id": app_id, "timestamp": timestamp, "app_sign": md5(f"{app_id}{timestamp}{secret}")}


BILL = {"channel": "WX_NATIVE", "total_fee": 1, "bill_no": "auth0001", "title": "t"}


def test_reference_vector_one_accepted_in_both_cases(make_sandbox: Any) -> None:
    box = make_sandbox(timestamp_window_s=None)
    base = {"app_id": OTHER_APP_ID, "timestamp": 1435890533866}
    lower = box.post("/1/rest/bill", {**base, "app_sign": "471000339cc5a665f2b1d7f30802f9ac", **BILL}, sign=False)
    assert lower["result_code"] == 0
    upper = box.post(
        "/1/rest/bill",
        {**base, "app_sign": "471000339CC5A665F2B1D7F30802F9AC", **BILL, "bill_no": "auth0002"},
        sign=False,
    )
    assert upper["result_code"] == 0


def test_reference_vector_three_accepted(make_sandbox: Any) -> None:
    box = make_sandbox(timestamp_window_s=None)
    auth = {"app_id": APP_ID, "timestamp": 1437035385000, "app_sign": "B6E26E300676944FFD70431D2098EEF8"}
    assert box.post("/1/rest/bill", {**auth, **BILL}, sign=False)["result_code"] == 0


def test_timestamp_outside_window_is_app_invalid(sandbox: Sandbox) -> None:
    stale = now_ms() - 601_000
    answer = sandbox.post("/1/rest/bill", {**_signed(APP_ID, stale, sandbox.secret), **BILL}, sign=False)
    assert (answer["result_code"], answer["result_msg"]) == (1, "APP_INVALID")
    assert "timestamp" in answer["err_detail"]


def test_master_secret_is_not_accepted_for_bills(sandbox: Sandbox) -> None:
    assert sandbox.post("/1/rest/bill", BILL, secret=MASTER_SECRET)["result_code"] == 1


def test_test_secret_is_accepted(sandbox: Sandbox) -> None:
    assert sandbox.post("/1/rest/bill", BILL, secret=TEST_SECRET)["result_code"] == 0


def test_unknown_fields_are_ignored(sandbox: Sandbox) -> None:
    extra = {"bc_analysis": {"sdk_version": "1.0"}, "app_secret": "leaked", "master_secret": "leaked"}
    assert sandbox.post("/1/rest/bill", {**BILL, **extra})["result_code"] == 0


GOOD = {"channel": "WX_NATIVE", "total_fee": 100, "bill_no": "qa000001", "title": "白开水"}
MISSING = object()

QA_CASES: list[tuple[str, str, Any, int]] = [
    # common fields (signature recomputed unless the case is about app_sign itself)
    ("app_id missing", "app_id", MISSING, 4),
    ("app_id empty", "app_id", "", 4),
    ("app_id null", "app_id", None, 4),
    ("app_id number", "app_id", 123, 5),
    ("app_id not uuid", "app_id", "not-a-uuid", 5),
    ("app_id unknown", "app_id", "11111111-2222-3333-4444-555555555555", 1),
    ("timestamp missing", "timestamp", MISSING, 4),
    ("timestamp string", "timestamp", "1435890533866", 5),
    ("timestamp float", "timestamp", 1435890533866.5, 5),
    ("timestamp 14 digits", "timestamp", 14358905338660, 5),
    ("app_sign missing", "app_sign", MISSING, 4),
    ("app_sign short", "app_sign", "abc", 5),
    ("app_sign number", "app_sign", 12345, 5),
    ("app_sign wrong", "app_sign", "0" * 32, 1),
    # bill fields
    ("channel missing", "channel", MISSING, 4),
    ("channel parent", "channel", "WX", 3),
    ("channel not served", "channel", "ALI_OFFLINE_QRCODE", 3),
    ("channel lowercase", "channel", "wx_native", 5),
    ("channel padded", "channel", "WX_NATIVE ", 5),
    ("channel number", "channel", 1, 5),
    ("total_fee missing", "total_fee", MISSING, 4),
    ("total_fee null", "total_fee", None, 4),
    ("total_fee zero", "total_fee", 0, 5),
    ("total_fee negative", "total_fee", -1, 5),
    ("total_fee float", "total_fee", 1.5, 5),
    ("total_fee bool", "total_fee", True, 5),
    ("total_fee string", "total_fee", "100", 5),
    ("total_fee above int32", "total_fee", 2**31, 5),
    ("bill_no missing", "bill_no", MISSING, 4),
    ("bill_no 33 chars", "bill_no", "a" * 33, 5),
    ("bill_no 32 chars", "bill_no", "a" * 32, 0),
    ("bill_no one char", "bill_no", "a", 0),
    ("bill_no punctuation", "bill_no", "bill-0001", 5),
    ("bill_no non-ascii digits", "bill_no", "bill٣", 5),
    ("bill_no number", "bill_no", 12345678, 5),
    ("title missing", "title", MISSING, 4),
    ("title empty", "title", "", 4),
    ("title 32 ascii", "title", "x" * 32, 0),
    ("title 33 ascii", "title", "x" * 33, 5),
    ("title 16 cjk", "title", "白" * 16, 0),
    ("title 17 cjk", "title", "白" * 17, 5),
    ("title mixed 32 gbk", "title", "白开水" * 4 + "abcdefgh", 0),
    ("title list", "title", ["t"], 5),
    ("optional string", "optional", "", 5),
    ("optional list", "optional", [1], 5),
    ("optional null", "optional", None, 0),
    ("optional map", "optional", {"k": "v"}, 0),
]


@pytest.mark.parametrize(("field", "value", "expected"), [case[1:] for case in QA_CASES], ids=[c[0] for c in QA_CASES])
def test_qa_validation_matrix(sandbox: Sandbox, field: str, value: Any, expected: int) -> None:
    body = {**sandbox.auth(), **GOOD}
    if value is MISSING:
        del body[field]
    else:
        body[field] = value
    if field in ("app_id", "timestamp") and isinstance(body.get("app_id"), str) and "timestamp" in body:
        body["app_sign"] = md5(f"{body['app_id']}{body['timestamp']}{sandbox.secret}")
    answer = sandbox.post("/1/rest/bill", body, sign=False)
    assert answer["result_code"] == expected, answer
    assert isinstance(answer["err_detail"], str)
    assert bool(answer["err_detail"]) == (expected != 0)


@pytest.mark.parametrize(
    ("channel", "missing", "expected"),
    [
        ("ALI_WEB", "return_url", 4),
        ("ALI_QRCODE", "return_url", 4),
        ("UN_WEB", "return_url", 4),
        ("WX_JSAPI", "openid", 4),
    ],
)
def test_channel_specific_required_fields(sandbox: Sandbox, channel: str, missing: str, expected: int) -> None:
    answer = sandbox.bill(channel, bill_no="req00001", **{missing: None})
    assert (answer["result_code"], answer["result_msg"]) == (expected, "MISS_PARAM")


@pytest.mark.parametrize(
    ("use_app", "expected"), [(True, 0), (False, 0), (None, 0), ("true", 5), (1, 5), (0, 5), ({}, 5)]
)
def test_ali_wap_use_app_is_an_optional_json_boolean(sandbox: Sandbox, use_app: Any, expected: int) -> None:
    answer = sandbox.bill("ALI_WAP", bill_no="useapp01", use_app=use_app)
    assert answer["result_code"] == expected, answer
    assert answer["result_msg"] == ("OK" if expected == 0 else "PARAM_INVALID")


def test_ali_wap_needs_no_return_url(sandbox: Sandbox) -> None:
    assert sandbox.bill("ALI_WAP", bill_no="wapnoret", return_url=None)["result_code"] == 0


@pytest.mark.parametrize(("mode", "expected"), [("0", 0), ("3", 0), (1, 0), ("2", 5), ("x", 5), (True, 5)])
def test_qr_pay_mode(sandbox: Sandbox, mode: Any, expected: int) -> None:
    assert sandbox.bill("ALI_QRCODE", bill_no="qrmode01", qr_pay_mode=mode)["result_code"] == expected


def test_qr_pay_mode_defaults_to_zero(sandbox: Sandbox) -> None:
    answer = sandbox.bill("ALI_QRCODE", bill_no="qrmode02", qr_pay_mode=None)
    assert 'name="qr_pay_mode" value="0"' in answer["html"]


def test_min_bill_no_length_is_configurable(make_sandbox: Any) -> None:
    box = make_sandbox(min_bill_no_len=8)
    assert box.bill(bill_no="a" * 7)["result_code"] == 5
    assert box.bill(bill_no="a" * 8)["result_code"] == 0


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json;charset=utf-8;", "application/json; charset=UTF-8"]
)
def test_any_json_content_type_is_accepted(sandbox: Sandbox, content_type: str) -> None:
    body = json.dumps({**sandbox.auth(), **GOOD}).encode()
    response = sandbox.client.post("/1/rest/bill", content=body, headers={"content-type": content_type})
    assert response.json()["result_code"] == 0


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b"{}"),
        ("application/json", b"{not json"),
        ("application/json", b"[1, 2]"),
        ("application/json", b""),
        ("application/json", b"[" * 100_000),
    ],
)
def test_unreadable_bodies_are_param_invalid(sandbox: Sandbox, content_type: str, body: bytes) -> None:
    response = sandbox.client.post("/1/rest/bill", content=body, headers={"content-type": content_type})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "result_code": 5,
        "result_msg": "PARAM_INVALID",
        "err_detail": response.json()["err_detail"],
    }


def test_resubmitting_an_unpaid_bill_is_idempotent(sandbox: Sandbox) -> None:
    first = sandbox.bill("WX_APP", bill_no="dup00001", optional={"k": "v"})
    again = sandbox.bill("WX_APP", bill_no="dup00001", optional={"k": "v"})
    assert again["result_code"] == 0
    assert again["id"] == first["id"]
    assert again["nonce_str"] != first["nonce_str"]


def test_duplicate_bill_no_with_other_params_is_channel_error(sandbox: Sandbox) -> None:
    assert sandbox.bill(bill_no="dup00002")["result_code"] == 0
    answer = sandbox.bill(bill_no="dup00002", total_fee=200)
    assert (answer["result_code"], answer["result_msg"], answer["err_detail"]) == (
        7,
        "CHANNEL_ERROR",
        "订单号重复",
    )


def test_duplicate_bill_no_of_paid_bill_is_channel_error(sandbox: Sandbox) -> None:
    sandbox.paid_bill(bill_no="dup00003")
    answer = sandbox.bill(bill_no="dup00003")
    assert (answer["result_code"], answer["err_detail"]) == (7, "订单号重复")


def test_bill_numbers_are_per_app(sandbox: Sandbox) -> None:
    assert sandbox.bill(bill_no="shared01")["result_code"] == 0
    body = {**sandbox.auth(OTHER_APP_SECRET, OTHER_APP_ID), **GOOD, "bill_no": "shared01", "total_fee": 7}
    assert sandbox.client.post("/1/rest/bill", json=body).json()["result_code"] == 0


def test_wrong_method_and_unknown_path(sandbox: Sandbox) -> None:
    assert sandbox.client.get("/1/rest/bill").status_code == 405
    assert sandbox.client.post("/1/rest/nothing", json={}).status_code == 404
