"""BeeCloud webhook verification: every payload generation, both signatures, and forgeries."""

from __future__ import annotations

from typing import Any

import pytest

from paygate.errors import WebhookVerificationError
from paygate.providers.beecloud import (
    BeeCloudCredentials,
    BeeCloudWebhook,
    verify_webhook,
    webhook_sign,
    webhook_signature,
)
from tests.paygate.providers._providers_support import BEECLOUD_CREDS

APP = BEECLOUD_CREDS.app_id
TS = 1426817510111
SIGN = "856e43f6e96ee84355fc358513fb7868"  # md5(app_id + app_secret + TS), protocols §1.7
SIGNATURE = "84ce4660e7a82b3b6ea4f1cfba3c8fcf"  # PAY/WX/1 with the demo master secret
NO_MASTER = BeeCloudCredentials(app_id=APP, app_secret=BEECLOUD_CREDS.app_secret)

SNAKE: dict[str, Any] = {
    "sign": SIGN,
    "timestamp": TS,
    "channel_type": "WX",
    "sub_channel_type": "WX_NATIVE",
    "transaction_type": "PAY",
    "transaction_id": "201506101035040000001",
    "transaction_fee": 1,
    "trade_success": True,
    "message_detail": {"result_code": "SUCCESS"},
    "optional": {"order": "A1"},
}
CAMEL: dict[str, Any] = {
    "sign": SIGN,
    "timestamp": TS,
    "channelType": "WX",
    "transactionType": "PAY",
    "transactionId": "201506101035040000001",
    "transactionFee": 1,
    "tradeSuccess": True,
    "messageDetail": {},
    "optional": {},
}

EXPECTED = BeeCloudWebhook(
    transaction_type="PAY",
    transaction_id="201506101035040000001",
    transaction_fee=1,
    channel_type="WX",
    sub_channel_type="WX_NATIVE",
    trade_success=True,
    optional={"order": "A1"},
    timestamp_ms=TS,
    verified_by="sign",
)


def test_snake_case_generation_with_sign() -> None:
    assert verify_webhook(SNAKE, BEECLOUD_CREDS) == EXPECTED


def test_camel_case_generation_with_sign() -> None:
    hook = verify_webhook(CAMEL, BEECLOUD_CREDS)
    assert (hook.transaction_id, hook.transaction_fee, hook.sub_channel_type, hook.optional) == (
        "201506101035040000001",
        1,
        None,
        {},
    )
    assert hook.verified_by == "sign"


def test_production_dual_key_body() -> None:
    # Both key styles at once (protocols §1.6): snake_case wins.
    body = {**CAMEL, **SNAKE, "transactionFee": 999, "signAll": "whatever", "retry_counter": 0}
    assert verify_webhook(body, BEECLOUD_CREDS).transaction_fee == 1


def test_real_production_sign_verifies() -> None:
    creds = BeeCloudCredentials(
        app_id="e66e760b-0f78-44bb-a9ae-b22729d51678", app_secret="6fb7db77-96ed-46ef-ae10-1118ee564dd3"
    )
    body = {
        "transaction_id": "e4dcaae2bb6e11e6b5f350f94438a447",
        "transaction_fee": 1,
        "channelType": "BC",
        "channel_type": "BC",
        "sub_channel_type": "BC_NATIVE",
        "optional": {},
        "transaction_type": "PAY",
        "trade_success": True,
        "sign": "319383d42c5b94d2c3e6198abb643375",
        "signAll": "not-verified",
        "timestamp": 1480999560000,
    }
    assert verify_webhook(body, creds).verified_by == "sign"


@pytest.mark.parametrize("case", [str.upper, str.lower])
def test_hex_case_does_not_matter(case) -> None:
    assert verify_webhook({**SNAKE, "sign": case(SIGN)}, BEECLOUD_CREDS).verified_by == "sign"
    body = {**SNAKE, "sign": "0" * 32, "signature": case(SIGNATURE)}
    assert verify_webhook(body, BEECLOUD_CREDS).verified_by == "signature"


def test_signature_takes_precedence_over_sign() -> None:
    hook = verify_webhook({**SNAKE, "signature": SIGNATURE}, BEECLOUD_CREDS)
    assert hook.verified_by == "signature"


def test_signature_alone_is_enough() -> None:
    body = {k: v for k, v in SNAKE.items() if k != "sign"} | {"signature": SIGNATURE}
    assert verify_webhook(body, BEECLOUD_CREDS).verified_by == "signature"


def test_a_wrong_signature_falls_back_to_sign() -> None:
    assert verify_webhook({**SNAKE, "signature": "f" * 32}, BEECLOUD_CREDS).verified_by == "sign"


def test_without_a_master_secret_only_sign_counts() -> None:
    assert verify_webhook({**SNAKE, "signature": SIGNATURE}, NO_MASTER).verified_by == "sign"
    body = {k: v for k, v in SNAKE.items() if k != "sign"} | {"signature": SIGNATURE}
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, NO_MASTER)


def test_refund_signature_vector() -> None:
    body = {
        **SNAKE,
        "sign": "bad",
        "transaction_type": "REFUND",
        "channel_type": "ALI",
        "transaction_fee": 100,
        "signature": "ee0d9b6dd979def2b91ea34c6fcf1890",
    }
    hook = verify_webhook(body, BEECLOUD_CREDS)
    assert (hook.transaction_type, hook.transaction_fee, hook.verified_by) == ("REFUND", 100, "signature")


def test_tampered_fee_breaks_signature_but_sign_cannot_see_it() -> None:
    # `sign` does not cover the body (protocols §1.2): the domain must check the fee against the order.
    tampered = {**SNAKE, "transaction_fee": 100, "signature": SIGNATURE}
    hook = verify_webhook(tampered, BEECLOUD_CREDS)
    assert (hook.verified_by, hook.transaction_fee) == ("sign", 100)
    with pytest.raises(WebhookVerificationError):
        verify_webhook({**tampered, "sign": "0" * 32}, BEECLOUD_CREDS)


def test_fee_as_digit_string_is_signed_as_received() -> None:
    body = {**SNAKE, "transaction_fee": "1", "sign": "x", "signature": SIGNATURE}
    assert verify_webhook(body, BEECLOUD_CREDS).transaction_fee == 1


@pytest.mark.parametrize(
    "body",
    [
        {**SNAKE, "sign": "0" * 32},  # forged
        {**SNAKE, "sign": SIGN.replace("8", "9")},
        {**SNAKE, "timestamp": TS + 1},  # the sign covers the timestamp
        {k: v for k, v in SNAKE.items() if k != "sign"},  # no signature at all
        {**SNAKE, "sign": None},
        {**SNAKE, "sign": 12345},
        {**SNAKE, "sign": "ｆ" * 32},  # non-ASCII
    ],
)
def test_forgeries_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, BEECLOUD_CREDS)


def test_wrong_secret_is_refused() -> None:
    other = BeeCloudCredentials(app_id=APP, app_secret="another-secret", master_secret="another-master")
    with pytest.raises(WebhookVerificationError):
        verify_webhook({**SNAKE, "signature": SIGNATURE}, other)


def test_another_apps_webhook_is_refused() -> None:
    other = BeeCloudCredentials(app_id="0950c062-5e41-44e3-8f52-f89d8cf2b6eb", app_secret=BEECLOUD_CREDS.app_secret)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(SNAKE, other)


@pytest.mark.parametrize(
    "fee",
    [1.0, 1.5, True, "1.0", "one", "", None, -1, "-1", [1], {"v": 1}],
)
def test_fee_must_be_an_integer(fee: Any) -> None:
    # Signed with a matching signature so that only the type check can refuse it.
    body = {**SNAKE, "transaction_fee": fee}
    if isinstance(fee, int | float | str):
        body["signature"] = webhook_signature(
            APP, "201506101035040000001", "PAY", "WX", str(fee), str(BEECLOUD_CREDS.master_secret)
        )
    with pytest.raises(WebhookVerificationError, match="transaction_fee"):
        verify_webhook(body, BEECLOUD_CREDS)


@pytest.mark.parametrize(
    "missing",
    ["transaction_type", "transaction_id", "channel_type", "transaction_fee", "timestamp", "trade_success"],
)
def test_missing_fields_are_refused(missing: str) -> None:
    body = {k: v for k, v in SNAKE.items() if k != missing}
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, BEECLOUD_CREDS)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("trade_success", "yes"),
        ("trade_success", 1),
        ("optional", "a=b"),
        ("optional", [1]),
        ("sub_channel_type", 3),
        ("transaction_id", 42),
        ("timestamp", 1426817510111.0),
        ("timestamp", "soon"),
    ],
)
def test_malformed_fields_are_refused(key: str, value: Any) -> None:
    body = {**SNAKE, key: value}
    if key == "timestamp" and isinstance(value, str):
        body["sign"] = webhook_sign(APP, BEECLOUD_CREDS.app_secret, value)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, BEECLOUD_CREDS)


def test_string_booleans_and_null_optional_are_tolerated() -> None:
    hook = verify_webhook({**SNAKE, "trade_success": "false", "optional": None}, BEECLOUD_CREDS)
    assert (hook.trade_success, hook.optional) == (False, {})


def test_not_an_object() -> None:
    with pytest.raises(WebhookVerificationError):
        verify_webhook([SNAKE], BEECLOUD_CREDS)  # type: ignore[arg-type]


def test_no_timestamp_window() -> None:
    # Retries span ~36 h and the timestamp may not be refreshed: an old one still verifies.
    body = {**SNAKE, "timestamp": 1, "sign": webhook_sign(APP, BEECLOUD_CREDS.app_secret, 1)}
    assert verify_webhook(body, BEECLOUD_CREDS).timestamp_ms == 1
