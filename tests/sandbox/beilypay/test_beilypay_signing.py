"""The signing module against the published vectors (protocols §2.7) and every client variant it must accept."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paygate.credentials import BeilyPayCredentials
from paygate.providers import parse_callback_body
from paygate.providers.beilypay import (
    BeilyPayClient,
    verify_collection_notify,
    verify_payout_notify,
    verify_signature,
)
from paygate.providers.beilypay import sign as paygate_sign
from paygate.providers.http import encode_json
from sandbox.beilypay.protocol import dumps
from sandbox.beilypay.signing import loads, sign, signing_string, verify, with_sign
from tests.sandbox.beilypay.beilypay_support import APP_ID, MERCHANT_ID, Sandbox

SECRET = "8c62bd95169ba8818c676a6f2025b8e5"


def md5_upper(text: str) -> str:
    """Independent of the module under test: the vectors' expected values are computed here."""
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest().upper()


PAYMENT_CREATE = {
    "appId": 1183601355,
    "merchantId": 3,
    "payAmount": 111,
    "mobile": "9876543210",
    "email": "9876543210@gmail.com",
    "notifyUrl": "http://www.baidu.com/",
    "frontCallback": "http://www.baidu.com/",
    "outOrderNo": "123456789",
    "userId": "userId111",
    "userName": "userName111",
}
TRANS_CREATE = {
    "appId": 1183601355,
    "merchantId": 3,
    "notifyUrl": "http://www.baidu.com/notifyUrl",
    "outOrderNo": "987654321",
    "payAmount": 123,
    "accountType": "Card",
    "account": "account",
    "accountOwner": "owner",
    "bankCode": "bankcode",
    "ifsc": "ifsc",
    "address": "",
    "mobile": "9876543210",
    "email": "9876543210@gmail.com",
}
TRANS_SKIPPED = (
    "account=account&accountOwner=owner&accountType=Card&appId=1183601355&bankCode=bankcode"
    "&email=9876543210@gmail.com&ifsc=ifsc&merchantId=3&mobile=9876543210"
    "&notifyUrl=http://www.baidu.com/notifyUrl&outOrderNo=987654321&payAmount=123&key=" + SECRET
)
TRANS_INCLUDED = TRANS_SKIPPED.replace("accountType=Card&", "accountType=Card&address=&")
COLLECTION_NOTIFY = {
    "outOrderNo": "123456789",
    "orderNo": "210811939000000004",
    "status": 2,
    "paid": 111,
    "payTime": "2021-08-11T15:57:06",
}


def test_vector_1_doc_example() -> None:
    assert sign({"a": 123, "b": "123", "c": 123}, "key") == "0EDCBC95AC37848157C44507E53B928F"


def test_vector_2_payment_create() -> None:
    expected = (
        "appId=1183601355&email=9876543210@gmail.com&frontCallback=http://www.baidu.com/&merchantId=3"
        "&mobile=9876543210&notifyUrl=http://www.baidu.com/&outOrderNo=123456789&payAmount=111"
        "&userId=userId111&userName=userName111&key=" + SECRET
    )

    assert signing_string(PAYMENT_CREATE, SECRET) == expected
    assert sign(PAYMENT_CREATE, SECRET) == "308ACBB8F1B7C3D1FB9D2E882D2FF943"
    assert verify(PAYMENT_CREATE, SECRET, "308acbb8f1b7c3d1fb9d2e882d2ff943")  # Python SDK, lowercase


def test_vector_3_trans_create_empty_address_both_ways() -> None:
    skipped, included = md5_upper(TRANS_SKIPPED), md5_upper(TRANS_INCLUDED)

    assert skipped != included
    assert signing_string(TRANS_CREATE, SECRET) == TRANS_SKIPPED
    assert sign(TRANS_CREATE, SECRET) == skipped
    assert verify(TRANS_CREATE, SECRET, skipped)  # doc, Go, PHP
    assert verify(TRANS_CREATE, SECRET, included)  # Java
    assert verify(TRANS_CREATE, SECRET, included.lower())  # Python SDK


def test_vector_4_collection_notify() -> None:
    expected_string = (
        "orderNo=210811939000000004&outOrderNo=123456789&paid=111&payTime=2021-08-11T15:57:06&status=2&key=" + SECRET
    )

    assert signing_string(COLLECTION_NOTIFY, SECRET) == expected_string
    assert with_sign(COLLECTION_NOTIFY, SECRET)["sign"] == md5_upper(expected_string)


def test_vector_5_failed_notify_with_paid_zero() -> None:
    failed = {**COLLECTION_NOTIFY, "status": 3, "paid": 0}

    assert sign(failed, SECRET) == "E2E5D9E531A7156ED16DF9ADD70A0950"  # paid=0 kept, as the doc says
    assert verify(failed, SECRET, "E2E5D9E531A7156ED16DF9ADD70A0950")
    assert verify(failed, SECRET, "b01bbb19797b4bd523271cf2b78ecf4a")  # PHP drops paid=0


def test_vector_6_trans_query() -> None:
    query = {"appId": 1183601355, "merchantId": 3, "orderNo": "2108***75153152"}

    assert sign(query, SECRET) == "EB2AEF90B4415AD2AB1EFBFF71619052"
    assert verify(query, SECRET, "eb2aef90b4415ad2ab1efbff71619052")


def test_numbers_and_numeric_strings_sign_alike() -> None:
    as_strings = {**PAYMENT_CREATE, "appId": "1183601355", "payAmount": "111", "merchantId": "3"}

    assert sign(as_strings, SECRET) == sign(PAYMENT_CREATE, SECRET)


def test_php_drops_false_too() -> None:
    params = {"a": "x", "flag": False}

    assert verify(params, SECRET, md5_upper("a=x&key=" + SECRET))
    assert verify(params, SECRET, md5_upper("a=x&flag=false&key=" + SECRET))


def test_java_trims_values() -> None:
    params = {"account": " 12345 ", "appId": 1, "blank": "  "}

    assert verify(params, SECRET, md5_upper("account=12345&appId=1&blank=&key=" + SECRET))


def test_null_is_never_signed_and_sign_is_excluded() -> None:
    params = {"a": "1", "b": None, "sign": "whatever"}

    assert signing_string(params, SECRET) == "a=1&key=" + SECRET


def test_decimal_is_signed_as_written() -> None:
    assert signing_string({"settlementAmount": Decimal("99.90")}, "k") == "settlementAmount=99.90&key=k"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "308ACBB8F1B7C3D1FB9D2E882D2FF942",
        md5_upper("appId=1183601355&key=" + SECRET),
        "308ACBB8F1B7C3D1FB9D2E882D2FF943"[:-1],
    ],
)
def test_wrong_signatures_fail(bad: str) -> None:
    assert not verify(PAYMENT_CREATE, SECRET, bad)


def test_a_different_secret_fails() -> None:
    assert not verify(PAYMENT_CREATE, "other-secret", "308ACBB8F1B7C3D1FB9D2E882D2FF943")


def test_extension_fields_are_signed() -> None:
    extended = {**PAYMENT_CREATE, "zExtra": "1"}

    assert sign(extended, SECRET) != sign(PAYMENT_CREATE, SECRET)
    assert not verify(extended, SECRET, "308ACBB8F1B7C3D1FB9D2E882D2FF943")


# -- one rule both ways: null and "" left out, numbers as the text the wire carries -------------

WIRE_NUMBERS = ["999754.00", "10.50", "0.10", "1e3", "1E3", "2.5e-3", "0.0000001", "12345678901234567890.01"]


@pytest.mark.parametrize("literal", WIRE_NUMBERS)
def test_a_request_number_is_verified_as_the_text_the_wire_carried(literal: str) -> None:
    raw = f'{{"appId":1183601355,"merchantId":3,"rate":{literal},"note":"","gone":null}}'
    client_sign = md5_upper(f"appId=1183601355&merchantId=3&rate={literal}&key={SECRET}")

    assert verify(loads(raw), SECRET, client_sign)


@pytest.mark.parametrize("literal", ["10.50", "1e3", "999754.00"])
def test_the_api_accepts_a_request_signed_over_its_number_text(sandbox: Sandbox, literal: str) -> None:
    # Unknown extra fields are signed too; a client that sends 10.50 signs "10.50", not "10.5".
    text = f"appId={APP_ID}&merchantId={MERCHANT_ID}&rate={literal}&key={SECRET}"
    raw = f'{{"appId":{APP_ID},"merchantId":{MERCHANT_ID},"rate":{literal},"sign":"{md5_upper(text)}"}}'

    response = sandbox.client.post("/merchant/accountInfo", content=raw, headers={"content-type": "application/json"})

    assert response.json()["code"] == 200, response.text


def _paygate_creds() -> BeilyPayCredentials:
    return BeilyPayCredentials(app_id=APP_ID, merchant_id=MERCHANT_ID, secret=SECRET)


def test_paygate_verifies_a_pending_payment_query_with_null_paid_and_trans_time(sandbox: Sandbox) -> None:
    order_no = sandbox.create_collection("sig-co-1")["data"]["orderNo"]
    assert sandbox.query("/v2/payment/query", order_no)["data"] | {"sign": None} == {
        "outOrderNo": "sig-co-1",
        "paid": None,
        "payAmount": 50_000,
        "status": 1,
        "orderNo": order_no,
        "transTime": None,
        "sign": None,
    }

    with httpx.Client(timeout=5.0) as http:
        state = BeilyPayClient(sandbox.server.url, http).query_collection(_paygate_creds(), order_no=order_no)

    assert (state.order_no, state.status) == (order_no, 1)


@pytest.mark.parametrize(("paise", "inr"), [(99_975_400, "999754.00"), (1_050, "10.50"), (10, "0.10"), (0, "0.00")])
def test_paygate_verifies_the_balance_signed_over_its_two_decimals(sandbox: Sandbox, paise: int, inr: str) -> None:
    assert sandbox.client.post(f"/_sandbox/apps/{APP_ID}/balance", json={"balance": paise}).status_code == 200

    with httpx.Client(timeout=5.0) as http:
        balance = BeilyPayClient(sandbox.server.url, http).balance(_paygate_creds())

    assert str(balance) == inr


def test_paygate_verifies_the_notifies_as_they_came_off_the_wire(sandbox: Sandbox) -> None:
    collection = sandbox.create_collection("sig-co-2")["data"]["orderNo"]
    failed = sandbox.create_collection("sig-co-3")["data"]["orderNo"]
    payout = sandbox.create_payout("sig-po-1", account="12349999")["data"]["orderNo"]
    for path, body in [
        (f"/_sandbox/collections/{collection}/complete", {"status": 2, "paid": 30_001}),
        (f"/_sandbox/collections/{failed}/complete", {"status": 3}),
        (f"/_sandbox/payouts/{payout}/complete", {"status": 2}),
    ]:
        assert sandbox.client.post(path, json=body).status_code == 200

    notifies = {item.json()["orderNo"]: parse_callback_body(item.raw) for item in sandbox.receiver.wait_for(3)}

    assert verify_collection_notify(notifies[collection], _paygate_creds()).paid == 30_001
    assert verify_collection_notify(notifies[failed], _paygate_creds()).paid == 0  # paid=0 is signed, not left out
    assert verify_payout_notify(notifies[payout], _paygate_creds()).amount == 12_345


# JSON values a signed object may hold at its top level (floats: what paygate's encoder writes).
wire_values = st.one_of(
    st.none(),
    st.just(""),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(keys, wire_values, max_size=8))
def test_what_paygate_signs_and_sends_the_sandbox_verifies(fields: dict[str, Any]) -> None:
    sent = encode_json({**fields, "sign": paygate_sign(fields, SECRET)})

    received = loads(sent)

    assert verify(received, SECRET, received["sign"])


decimals = st.decimals(min_value=0, max_value=10**15, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(keys, st.one_of(wire_values.filter(lambda v: not isinstance(v, float)), decimals), max_size=8))
def test_what_the_sandbox_signs_and_sends_paygate_verifies(fields: dict[str, Any]) -> None:
    sent = dumps(with_sign(fields, SECRET))

    assert verify_signature(parse_callback_body(sent), SECRET)
