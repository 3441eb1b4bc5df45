"""BeilyPay signatures: the published vectors (protocols §2.7), the inbound rules (§2.2), and signing the wire text."""

from __future__ import annotations

import copy
from decimal import Decimal

import httpx
import pytest

from paygate.providers import parse_callback_body
from paygate.providers.beilypay import sign, verify_signature
from paygate.providers.http import json_object
from tests.paygate.providers._providers_support import md5_hex

SECRET = "8c62bd95169ba8818c676a6f2025b8e5"


def md5_upper(text: str) -> str:
    return md5_hex(text).upper()


PAYOUT = {
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
PAYOUT_STRING = (
    "account=account&accountOwner=owner&accountType=Card&appId=1183601355&bankCode=bankcode"
    "&email=9876543210@gmail.com&ifsc=ifsc&merchantId=3&mobile=9876543210"
    "&notifyUrl=http://www.baidu.com/notifyUrl&outOrderNo=987654321&payAmount=123&key=" + SECRET
)
COLLECTION_NOTIFY = {
    "outOrderNo": "123456789",
    "orderNo": "210811939000000004",
    "status": 2,
    "paid": 111,
    "payTime": "2021-08-11T15:57:06",
}


def test_doc_example() -> None:
    assert md5_upper("a=123&b=123&c=123&key=key") == "0EDCBC95AC37848157C44507E53B928F"
    assert sign({"c": 123, "b": "123", "a": 123}, "key") == "0EDCBC95AC37848157C44507E53B928F"


def test_payment_create_vector() -> None:
    params = {
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
    assert sign(params, SECRET) == "308ACBB8F1B7C3D1FB9D2E882D2FF943"


def test_trans_create_with_empty_address_skips_it() -> None:
    expected = md5_upper(PAYOUT_STRING)
    assert expected == "78C177035F76386CE7E9E22115F75B64"  # computed here from the rule
    assert sign(PAYOUT, SECRET) == expected


def test_trans_create_empty_included_variant_verifies() -> None:
    included = md5_upper(PAYOUT_STRING.replace("accountType=Card&", "accountType=Card&address=&"))
    assert included == "CAF8C1C1EADF0B1586A04420552B062F"  # the Python/Java SDK variant, held back
    assert verify_signature({**PAYOUT, "sign": included}, SECRET)
    assert verify_signature({**PAYOUT, "sign": included.lower()}, SECRET)


def test_collection_notify_vector() -> None:
    string = (
        "orderNo=210811939000000004&outOrderNo=123456789&paid=111&payTime=2021-08-11T15:57:06&status=2&key=" + SECRET
    )
    assert md5_upper(string) == "EBB834A93B8C17EC00FF5BC958E9FF5F"  # computed from the rule
    assert sign(COLLECTION_NOTIFY, SECRET) == "EBB834A93B8C17EC00FF5BC958E9FF5F"


def test_failed_collection_notify_keeps_paid_zero() -> None:
    params = {**COLLECTION_NOTIFY, "status": 3, "paid": 0}
    assert sign(params, SECRET) == "E2E5D9E531A7156ED16DF9ADD70A0950"  # doc/Java/Go, not PHP's B01BBB19…


def test_trans_query_vector() -> None:
    params = {"appId": 1183601355, "merchantId": 3, "orderNo": "2108***75153152"}
    assert sign(params, SECRET) == "EB2AEF90B4415AD2AB1EFBFF71619052"


def test_sign_ignores_an_existing_sign_and_nulls() -> None:
    params = {"appId": 1183601355, "merchantId": 3, "orderNo": "2108***75153152"}
    assert sign({**params, "sign": "X", "extra": None}, SECRET) == "EB2AEF90B4415AD2AB1EFBFF71619052"


def test_decimals_are_signed_as_their_literal_text() -> None:
    expected = md5_upper("merchantId=3&settlementAmount=99.90&key=" + SECRET)
    assert sign({"merchantId": 3, "settlementAmount": Decimal("99.90")}, SECRET) == expected


@pytest.mark.parametrize("case", [str.upper, str.lower])
def test_verify_is_case_insensitive(case) -> None:
    payload = {**COLLECTION_NOTIFY, "sign": case("EBB834A93B8C17EC00FF5BC958E9FF5F")}
    assert verify_signature(payload, SECRET)


def test_verify_includes_extension_fields_first() -> None:
    payload = {**COLLECTION_NOTIFY, "newField": "x"}
    payload["sign"] = sign(payload, SECRET)
    assert verify_signature(payload, SECRET)


def test_verify_falls_back_to_the_documented_subset() -> None:
    # A server that adds a field to the body but signs only the documented ones.
    payload = {**COLLECTION_NOTIFY, "sign": "EBB834A93B8C17EC00FF5BC958E9FF5F", "extra": "unsigned"}
    assert not verify_signature(payload, SECRET)
    assert verify_signature(payload, SECRET, fallback_fields=["outOrderNo", "orderNo", "status", "paid", "payTime"])


@pytest.mark.parametrize(
    "payload",
    [
        {**COLLECTION_NOTIFY, "sign": "EBB834A93B8C17EC00FF5BC958E9FF5E"},  # forged
        {**COLLECTION_NOTIFY, "paid": 112, "sign": "EBB834A93B8C17EC00FF5BC958E9FF5F"},  # tampered
        {**COLLECTION_NOTIFY, "sign": ""},
        {**COLLECTION_NOTIFY, "sign": None},
        {**COLLECTION_NOTIFY, "sign": 123},
        dict(COLLECTION_NOTIFY),  # no sign at all
    ],
)
def test_verify_rejects(payload) -> None:
    assert not verify_signature(payload, SECRET, fallback_fields=list(COLLECTION_NOTIFY))


def test_verify_rejects_wrong_secret() -> None:
    payload = {**COLLECTION_NOTIFY, "sign": "EBB834A93B8C17EC00FF5BC958E9FF5F"}
    assert not verify_signature(payload, "another-secret")


# -- the rule on wire text: empty values out, every number as the text the wire carries ----------

# Literals a provider may write: two decimals (settlementAmount), a trailing zero, exponents, tiny.
WIRE_NUMBERS = ["999754.00", "10.50", "0.10", "1e3", "1E3", "2.5e-3", "0.0000001", "12345678901234567890.01"]


def signed_wire_text(fields: list[tuple[str, str]], secret: str = SECRET) -> str:
    """A JSON object from (key, JSON literal) pairs, signed over the literals as written.

    Written by hand so the test does not share paygate's parsing: null and "" are left out of
    the signed string; every other value is its literal (strings without their quotes).
    """
    pairs = sorted((key, literal) for key, literal in fields if literal not in ("null", '""'))
    text = "&".join(key + "=" + literal.strip('"') for key, literal in pairs)
    digest = md5_upper(f"{text}&key={secret}" if text else f"key={secret}")
    members = [f'"{key}":{literal}' for key, literal in fields] + [f'"sign":"{digest}"']
    return "{" + ",".join(members) + "}"


@pytest.mark.parametrize("literal", WIRE_NUMBERS)
def test_a_notify_number_verifies_as_the_text_the_wire_carried(literal: str) -> None:
    body = signed_wire_text([("orderNo", '"261125674000000001"'), ("paid", literal), ("status", "2")])

    payload = parse_callback_body(body)

    assert verify_signature(payload, SECRET)
    assert not verify_signature({**payload, "paid": Decimal(literal) + 1}, SECRET)


@pytest.mark.parametrize("literal", WIRE_NUMBERS)
def test_an_answer_number_verifies_as_the_text_the_wire_carried(literal: str) -> None:
    body = signed_wire_text([("merchantId", "3"), ("settlementAmount", literal)])
    response = httpx.Response(200, content=body.encode(), request=httpx.Request("POST", "http://beilypay.test/x"))

    data = json_object(response, "beilypay")

    assert verify_signature(data, SECRET)


def test_a_pending_payment_query_answer_with_nulls_verifies_without_them() -> None:
    fields = [
        ("outOrderNo", '"co-1"'),
        ("paid", "null"),
        ("payAmount", "50000"),
        ("status", "1"),
        ("orderNo", '"261125674000000001"'),
        ("transTime", "null"),
    ]
    data = parse_callback_body(signed_wire_text(fields))

    assert verify_signature(data, SECRET)
    # "Left out" is not "signed as empty": k= for a null is a different signature.
    with_empty = md5_upper(
        "orderNo=261125674000000001&outOrderNo=co-1&paid=&payAmount=50000&status=1&transTime=&key=" + SECRET
    )
    assert not verify_signature({**data, "sign": with_empty}, SECRET)


def test_empty_strings_are_left_out_and_the_sdk_variant_with_them_also_verifies() -> None:
    data = parse_callback_body(signed_wire_text([("merchantId", "3"), ("note", '""'), ("settlementAmount", "10.50")]))

    assert verify_signature(data, SECRET)
    sdk_variant = md5_upper(f"merchantId=3&note=&settlementAmount=10.50&key={SECRET}")
    assert verify_signature({**data, "sign": sdk_variant}, SECRET)


@pytest.mark.parametrize("literal", ["1e3", "0.0000001", "10.50"])
def test_parsed_numbers_keep_their_text_through_copies(literal: str) -> None:
    number = parse_callback_body(f'{{"n": {literal}}}')["n"]

    assert str(number) == f"{number}" == str(copy.deepcopy(number)) == literal
    assert number == Decimal(literal)
    assert isinstance(number + 1, Decimal)
