"""The signing module against the reference's vectors and every client variant it must accept."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from sandbox.beilypay.signing import sign, signing_string, verify, with_sign

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
