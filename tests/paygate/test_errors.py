"""The error taxonomy: every provider code has a reason, and the outcome flag is right per class."""

from __future__ import annotations

import pytest

from paygate.errors import (
    BEECLOUD_REASONS,
    BEILYPAY_REASONS,
    ProviderError,
    ProviderProtocolError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RejectReason,
    beecloud_reason,
    beilypay_reason,
    is_indeterminate,
)

BEILYPAY_CODES = [*range(10001, 10014), 20001, 500]


def test_every_beecloud_code_is_mapped() -> None:
    assert set(BEECLOUD_REASONS) == set(range(1, 18))


def test_every_beilypay_code_is_mapped() -> None:
    assert set(BEILYPAY_REASONS) == set(BEILYPAY_CODES)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (1, RejectReason.AUTH),
        (4, RejectReason.INVALID_REQUEST),
        (5, RejectReason.INVALID_REQUEST),
        (7, RejectReason.CHANNEL_ERROR),
        (8, RejectReason.NOT_FOUND),
        (11, RejectReason.CONFLICT),
        (12, RejectReason.NOT_REFUNDABLE),
        (14, RejectReason.PROVIDER_INTERNAL),
        (17, RejectReason.CONFLICT),
        (99, RejectReason.PROVIDER_INTERNAL),
    ],
)
def test_beecloud_reasons(code: int, reason: RejectReason) -> None:
    assert beecloud_reason(code) is reason


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (10003, RejectReason.NOT_FOUND),
        (10004, RejectReason.AUTH),
        (10005, RejectReason.INSUFFICIENT_FUNDS),
        (10006, RejectReason.RATE_LIMITED),
        (10009, RejectReason.ALREADY_FINAL),
        (10012, RejectReason.CHANNEL_ERROR),
        (10013, RejectReason.INVALID_REQUEST),
        (20001, RejectReason.PROVIDER_INTERNAL),
        (500, RejectReason.PROVIDER_INTERNAL),
        (42, RejectReason.PROVIDER_INTERNAL),
    ],
)
def test_beilypay_reasons(code: int, reason: RejectReason) -> None:
    assert beilypay_reason(code) is reason


def test_indeterminate_codes() -> None:
    assert is_indeterminate("beecloud", 14)
    assert is_indeterminate("beecloud", 15)
    assert is_indeterminate("beecloud", 99)
    assert not is_indeterminate("beecloud", 5)
    assert is_indeterminate("beilypay", 20001)
    assert is_indeterminate("beilypay", 500)
    assert not is_indeterminate("beilypay", 10005)


@pytest.mark.parametrize(
    ("cls", "unknown"),
    [(ProviderUnavailableError, False), (ProviderTimeoutError, True), (ProviderProtocolError, True)],
)
def test_outcome_flags(cls: type[ProviderError], unknown: bool) -> None:
    err = cls("beilypay", "x")
    assert err.outcome_unknown is unknown
    assert err.provider == "beilypay"
    assert isinstance(err, ProviderError)


def test_rejected_carries_code_message_reason() -> None:
    err = ProviderRejectedError("beilypay", 10005, "account balance not enough")
    assert (err.code, err.message, err.reason, err.outcome_unknown) == (
        10005,
        "account balance not enough",
        RejectReason.INSUFFICIENT_FUNDS,
        False,
    )
    assert "10005" in str(err)
