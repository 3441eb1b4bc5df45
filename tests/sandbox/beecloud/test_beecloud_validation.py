"""Pure validation rules that need a fixed date or exact counting."""

from __future__ import annotations

from datetime import date

import pytest

from sandbox.beecloud.protocol import BeeCloudError, ResultCode
from sandbox.beecloud.validation import check_refund_no, gbk_length

TODAY = date(2026, 3, 1)


@pytest.mark.parametrize("refund_no", ["20260301001", "20260228abc", "20260302" + "9" * 24, "20260301A0B"])
def test_refund_no_accepted(refund_no: str) -> None:
    check_refund_no(refund_no, today=TODAY, tolerance_days=1)


@pytest.mark.parametrize(
    "refund_no",
    ["20260227001", "20260303001", "20260301000", "2026030100", "20260230001", "2026-03-01001", "20260301００1"],
)
def test_refund_no_rejected(refund_no: str) -> None:
    with pytest.raises(BeeCloudError) as caught:
        check_refund_no(refund_no, today=TODAY, tolerance_days=1)
    assert caught.value.code is ResultCode.PARAM_INVALID


def test_refund_no_tolerance_zero_means_today_only() -> None:
    check_refund_no("20260301001", today=TODAY, tolerance_days=0)
    with pytest.raises(BeeCloudError):
        check_refund_no("20260228001", today=TODAY, tolerance_days=0)


@pytest.mark.parametrize(("text", "length"), [("abc", 3), ("白开水", 6), ("白开水" * 4 + "abcdefgh", 32), ("", 0)])
def test_gbk_length(text: str, length: int) -> None:
    assert gbk_length(text) == length
