"""paygate.clock at the edges of a day: China midnight, month and year ends, 29 February.

BeeCloud's refund_no starts with the refund day in China (UTC+8), whatever the zone the gateway
runs in; these instants are where a date computed in the wrong zone, or truncated the wrong way,
shows.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from paygate.clock import china_date, iso_from_ms
from paygate.payments.requests import CreateRefundRequest
from tests.support.clock import china_ms

pytestmark = pytest.mark.clock

# (China wall-clock instant, the China date it falls on)
EDGES = [
    ("2026-12-04 23:59:59.999", "20261204"),
    ("2026-12-05 00:00:00.000", "20261205"),
    ("2026-11-30 23:59:59.999", "20261130"),  # month end
    ("2026-12-01 00:00:00.000", "20261201"),
    ("2026-12-31 23:59:59.999", "20261231"),  # year end
    ("2027-01-01 00:00:00.000", "20270101"),
    ("2028-02-28 23:59:59.999", "20280228"),  # leap year
    ("2028-02-29 00:00:00.000", "20280229"),
    ("2028-02-29 23:59:59.999", "20280229"),
    ("2028-03-01 00:00:00.000", "20280301"),
]


@pytest.fixture(params=["UTC", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Kiritimati"])
def process_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The host's local zone (TZ) must never leak into a date the product computes."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(("china_time", "day"), EDGES)
def test_china_date_is_the_day_in_utc_plus_8_whatever_the_hosts_zone(
    process_zone: str, china_time: str, day: str
) -> None:
    assert china_date(china_ms(china_time)) == day


def test_china_midnight_is_16_00_utc() -> None:
    assert china_date(china_ms("2026-12-31 23:59:59.999")) == "20261231"
    assert iso_from_ms(china_ms("2026-12-31 23:59:59.999")) == "2026-12-31T15:59:59.999Z"
    assert iso_from_ms(china_ms("2027-01-01 00:00:00.000")) == "2026-12-31T16:00:00.000Z"


@given(st.integers(min_value=0, max_value=4_102_444_800_000))  # 1970 .. 2100
def test_china_date_and_iso_agree_with_the_calendar_to_the_millisecond(ms: int) -> None:
    utc = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    assert china_date(ms) == (utc + timedelta(hours=8)).strftime("%Y%m%d")
    assert iso_from_ms(ms) == utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@pytest.mark.parametrize(("china_time", "day"), EDGES)
def test_a_refund_no_is_accepted_exactly_on_its_china_day(china_time: str, day: str) -> None:
    request = CreateRefundRequest(refund_no=f"{day}001", bill_no="BILL00000001", refund_fee=1)
    request.check_date(china_ms(china_time))  # on its day, to the last millisecond
    with pytest.raises(ValueError, match="today's date in China time"):
        request.check_date(china_ms(china_time) + 86_400_000)
    with pytest.raises(ValueError, match="today's date in China time"):
        request.check_date(china_ms(china_time) - 86_400_000)


@pytest.mark.parametrize("refund_no", ["20280230001", "20270229001", "20281301001", "20281232001"])
def test_a_refund_no_whose_date_does_not_exist_is_refused_on_any_day(refund_no: str) -> None:
    """Refused by the model itself, before any clock is read: no day is 30 February."""
    with pytest.raises(ValidationError, match="a real date"):
        CreateRefundRequest(refund_no=refund_no, bill_no="BILL00000001", refund_fee=1)
