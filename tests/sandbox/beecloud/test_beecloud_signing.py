"""Signature vectors from protocols §1.7 (app_sign, webhook sign and signature)."""

from __future__ import annotations

import pytest

from sandbox.beecloud.signing import app_sign, sign_matches, verify_app_sign, webhook_sign, webhook_signature

DEMO_APP = "c5d1cba1-5e3f-4ba0-941d-9b0a371fe719"
DEMO_SECRET = "39a7a518-9ac8-4a9e-87bc-7885f33cf18c"
DEMO_MASTER = "e14ae2db-608c-4f8b-b863-c8c18953eef2"
BILL_NO = "201506101035040000001"


@pytest.mark.parametrize(
    ("app_id", "timestamp", "secret", "expected"),
    [
        (DEMO_APP, 1435890533866, DEMO_SECRET, "471000339cc5a665f2b1d7f30802f9ac"),
        (DEMO_APP, 1435890533866, DEMO_MASTER, "7fbf493fcf3eaeb588ca981a00be7f77"),
        (
            "0950c062-5e41-44e3-8f52-f89d8cf2b6eb",
            1437035385000,
            "a5571c5a-591e-4fb9-bd92-0283782af00d",
            "b6e26e300676944ffd70431d2098eef8",
        ),
    ],
)
def test_app_sign_vectors(app_id: str, timestamp: int, secret: str, expected: str) -> None:
    assert app_sign(app_id, timestamp, secret) == expected
    assert verify_app_sign(app_id, timestamp, expected.upper(), [secret])
    assert verify_app_sign(app_id, timestamp, expected, ["other", secret])


def test_app_sign_rejects_wrong_secret_and_timestamp() -> None:
    good = "471000339cc5a665f2b1d7f30802f9ac"
    assert not verify_app_sign(DEMO_APP, 1435890533866, good, [DEMO_MASTER])
    assert not verify_app_sign(DEMO_APP, 1435890533867, good, [DEMO_SECRET])
    assert not verify_app_sign(DEMO_APP, 1435890533866, good, [])


def test_sign_comparison_is_case_insensitive_only() -> None:
    assert sign_matches("abcdef", "ABCDEF")
    assert not sign_matches("abcdef", "abcdee")


@pytest.mark.parametrize(
    ("app_id", "secret", "timestamp", "expected"),
    [
        (
            "e66e760b-0f78-44bb-a9ae-b22729d51678",
            "6fb7db77-96ed-46ef-ae10-1118ee564dd3",
            1480999560000,
            "319383d42c5b94d2c3e6198abb643375",  # the real production body's sign (computed)
        ),
        (DEMO_APP, DEMO_SECRET, 1426817510111, "856e43f6e96ee84355fc358513fb7868"),
        (DEMO_APP, "4bfdd244-574d-4bf3-b034-0c751ed34fee", 1480999560000, "dc4514052b39f860fe930f2da906cf4e"),
    ],
)
def test_webhook_sign_vectors(app_id: str, secret: str, timestamp: int, expected: str) -> None:
    assert webhook_sign(app_id, secret, timestamp) == expected


@pytest.mark.parametrize(
    ("app_id", "transaction_id", "kind", "channel", "fee", "master", "expected"),
    [
        (DEMO_APP, BILL_NO, "PAY", "WX", 1, DEMO_MASTER, "84ce4660e7a82b3b6ea4f1cfba3c8fcf"),
        (DEMO_APP, BILL_NO, "REFUND", "ALI", 100, DEMO_MASTER, "ee0d9b6dd979def2b91ea34c6fcf1890"),
        (
            "e66e760b-0f78-44bb-a9ae-b22729d51678",
            "e4dcaae2bb6e11e6b5f350f94438a447",
            "PAY",
            "BC",
            1,
            "6fb7db77-96ed-46ef-ae10-1118ee564dd3",
            "5e38f1ce59985975a6e275e03f67aa7a",
        ),
    ],
)
def test_webhook_signature_vectors(
    app_id: str, transaction_id: str, kind: str, channel: str, fee: int, master: str, expected: str
) -> None:
    assert webhook_signature(app_id, transaction_id, kind, channel, fee, master) == expected
