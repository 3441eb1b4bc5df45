"""BeilyPay notify verification: payout and collection notifies, SDK variants and forgeries."""

from __future__ import annotations

from typing import Any

import pytest

from paygate.errors import WebhookVerificationError
from paygate.providers import parse_callback_body
from paygate.providers.beilypay import (
    BeilyPayCredentials,
    CollectionNotify,
    PayoutNotify,
    sign,
    verify_collection_notify,
    verify_payout_notify,
)
from tests.paygate.providers._providers_support import BEILYPAY_CREDS, md5_hex

SECRET = BEILYPAY_CREDS.secret

COLLECTION: dict[str, Any] = {
    "outOrderNo": "123456789",
    "orderNo": "210811939000000004",
    "status": 2,
    "paid": 111,
    "payTime": "2021-08-11T15:57:06",
    "sign": "EBB834A93B8C17EC00FF5BC958E9FF5F",  # protocols §2.7 #4, computed
}
PAYOUT_FIELDS: dict[str, Any] = {
    "appId": 1183601355,
    "merchantId": 3,
    "outOrderNo": "987654321",
    "payAmount": 123,
    "status": 2,
    "orderNo": "2108000001",
    "payTime": "2021-08-11T15:57",
}
PAYOUT: dict[str, Any] = {**PAYOUT_FIELDS, "sign": sign(PAYOUT_FIELDS, SECRET)}


def resigned(body: dict[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in body.items() if k != "sign"}
    return {**fields, "sign": sign(fields, SECRET)}


def test_collection_notify_vector() -> None:
    assert verify_collection_notify(COLLECTION, BEILYPAY_CREDS) == CollectionNotify(
        order_no="210811939000000004",
        out_order_no="123456789",
        paid=111,
        status=2,
        pay_time="2021-08-11T15:57:06",
    )


def test_failed_collection_notify_with_paid_zero() -> None:
    body = {**COLLECTION, "status": 3, "paid": 0, "sign": "E2E5D9E531A7156ED16DF9ADD70A0950"}
    notify = verify_collection_notify(body, BEILYPAY_CREDS)
    assert (notify.status, notify.paid) == (3, 0)


def test_payout_notify() -> None:
    assert verify_payout_notify(PAYOUT, BEILYPAY_CREDS) == PayoutNotify(
        order_no="2108000001",
        out_order_no="987654321",
        amount=123,
        status=2,
        app_id=1183601355,
        merchant_id=3,
        pay_time="2021-08-11T15:57",
    )


@pytest.mark.parametrize("case", [str.upper, str.lower])
def test_hex_case_does_not_matter(case) -> None:
    assert verify_payout_notify({**PAYOUT, "sign": case(PAYOUT["sign"])}, BEILYPAY_CREDS).status == 2
    assert verify_collection_notify({**COLLECTION, "sign": case(COLLECTION["sign"])}, BEILYPAY_CREDS).paid == 111


def test_stringly_ids_and_amounts_from_the_raw_body() -> None:
    body = resigned({**PAYOUT, "appId": "1183601355", "payAmount": "123"})
    notify = verify_payout_notify(body, BEILYPAY_CREDS)
    assert (notify.app_id, notify.amount) == (1183601355, 123)


def test_extension_fields_are_signed_and_accepted() -> None:
    body = resigned({**COLLECTION, "currency": "INR"})
    assert verify_collection_notify(body, BEILYPAY_CREDS).paid == 111


def test_unsigned_extension_field_falls_back_to_documented_subset() -> None:
    assert verify_collection_notify({**COLLECTION, "traceId": "t-1"}, BEILYPAY_CREDS).paid == 111


def test_empty_included_variant() -> None:
    # A Java-style server that signs "" as `k=`.
    fields = {k: v for k, v in PAYOUT.items() if k != "sign"} | {"payTime": ""}
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields)) + "&key=" + SECRET
    assert "&payTime=&" in text
    sig = md5_hex(text).upper()
    assert sig != sign(fields, SECRET)
    assert verify_payout_notify({**fields, "sign": sig}, BEILYPAY_CREDS).pay_time is None


def test_raw_body_parsing_keeps_epoch_times() -> None:
    raw = b'{"outOrderNo":"123456789","orderNo":"210811939000000004","status":2,"paid":111,'
    raw += b'"payTime":1628668626000}'
    body = parse_callback_body(raw)
    body["sign"] = sign(body, SECRET)
    assert verify_collection_notify(body, BEILYPAY_CREDS).pay_time == "1628668626000"


@pytest.mark.parametrize("raw", [b"", b"SUCC", b"[1]", b"\xff"])
def test_parse_callback_body_rejects_non_objects(raw: bytes) -> None:
    with pytest.raises(WebhookVerificationError):
        parse_callback_body(raw)


@pytest.mark.parametrize(
    "body",
    [
        {**COLLECTION, "sign": "EBB834A93B8C17EC00FF5BC958E9FF5E"},  # forged
        {**COLLECTION, "paid": 112},  # tampered amount
        {**COLLECTION, "status": 3},  # tampered status
        {k: v for k, v in COLLECTION.items() if k != "sign"},
        {**COLLECTION, "sign": ""},
        {**COLLECTION, "sign": None},
    ],
)
def test_collection_forgeries(body: dict[str, Any]) -> None:
    with pytest.raises(WebhookVerificationError, match="sign"):
        verify_collection_notify(body, BEILYPAY_CREDS)


def test_wrong_secret() -> None:
    other = BeilyPayCredentials(app_id=1183601355, merchant_id=3, secret="another")
    with pytest.raises(WebhookVerificationError):
        verify_payout_notify(PAYOUT, other)
    with pytest.raises(WebhookVerificationError):
        verify_collection_notify(COLLECTION, other)


@pytest.mark.parametrize(("key", "value"), [("appId", 1), ("merchantId", 4)])
def test_payout_notify_for_another_merchant(key: str, value: int) -> None:
    with pytest.raises(WebhookVerificationError, match="another"):
        verify_payout_notify(resigned({**PAYOUT, key: value}), BEILYPAY_CREDS)


def test_collection_notify_for_another_merchant() -> None:
    with pytest.raises(WebhookVerificationError, match="another"):
        verify_collection_notify(resigned({**COLLECTION, "merchantId": 4}), BEILYPAY_CREDS)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("paid", 111.0),
        ("paid", 111.5),
        ("paid", True),
        ("paid", "111.0"),
        ("paid", -1),
        ("status", 5),
        ("status", "paid"),
        ("orderNo", None),
        ("payTime", 1.5),
    ],
)
def test_malformed_collection_fields(key: str, value: Any) -> None:
    with pytest.raises(WebhookVerificationError):
        verify_collection_notify(resigned({**COLLECTION, key: value}), BEILYPAY_CREDS)


@pytest.mark.parametrize("missing", ["orderNo", "outOrderNo", "paid", "status"])
def test_collection_missing_fields(missing: str) -> None:
    body = resigned({k: v for k, v in COLLECTION.items() if k != missing})
    with pytest.raises(WebhookVerificationError, match="malformed"):
        verify_collection_notify(body, BEILYPAY_CREDS)


@pytest.mark.parametrize("missing", ["appId", "merchantId", "payAmount", "status", "orderNo", "outOrderNo"])
def test_payout_missing_fields(missing: str) -> None:
    body = resigned({k: v for k, v in PAYOUT.items() if k != missing})
    with pytest.raises(WebhookVerificationError, match="malformed"):
        verify_payout_notify(body, BEILYPAY_CREDS)


@pytest.mark.parametrize(("key", "value"), [("payAmount", 1.0), ("status", 0), ("status", 4)])
def test_malformed_payout_fields(key: str, value: Any) -> None:
    with pytest.raises(WebhookVerificationError):
        verify_payout_notify(resigned({**PAYOUT, key: value}), BEILYPAY_CREDS)


def test_payout_notify_status_1_is_tolerated() -> None:
    assert verify_payout_notify(resigned({**PAYOUT, "status": 1}), BEILYPAY_CREDS).status == 1


def test_not_an_object() -> None:
    with pytest.raises(WebhookVerificationError):
        verify_payout_notify("SUCC", BEILYPAY_CREDS)  # type: ignore[arg-type]
