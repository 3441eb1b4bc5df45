"""The suite's refund_no helper: valid when it is sent, even a moment before China midnight."""

from __future__ import annotations

import pytest

from tests.support.clock import china_ms, next_china_midnight_ms, refund_no, today_in_china

pytestmark = pytest.mark.clock


class FakeClock:
    """A clock the test moves; `sleep` advances it instead of waiting."""

    def __init__(self, china_time: str) -> None:
        self.ms = china_ms(china_time)
        self.slept: list[float] = []

    def __call__(self) -> int:
        return self.ms

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.ms += int(seconds * 1000)


@pytest.mark.parametrize(
    ("china_time", "midnight"),
    [
        ("2026-12-04 12:00:00.000", "2026-12-05 00:00:00.000"),
        ("2026-12-04 00:00:00.000", "2026-12-05 00:00:00.000"),
        ("2026-12-04 23:59:59.999", "2026-12-05 00:00:00.000"),
        ("2026-12-31 23:59:50.000", "2027-01-01 00:00:00.000"),
        ("2028-02-28 23:59:59.000", "2028-02-29 00:00:00.000"),
        ("2028-02-29 08:00:00.000", "2028-03-01 00:00:00.000"),
    ],
)
def test_next_china_midnight(china_time: str, midnight: str) -> None:
    assert next_china_midnight_ms(china_ms(china_time)) == china_ms(midnight)


def test_far_from_midnight_the_date_is_todays_and_nothing_waits() -> None:
    clock = FakeClock("2028-02-29 23:59:54.000")
    assert refund_no("001", clock=clock, sleep=clock.sleep) == "20280229001"
    assert clock.slept == []


@pytest.mark.parametrize(
    "china_time",
    [
        "2026-12-31 23:59:55.000",
        "2026-12-31 23:59:59.900",
        "2026-12-31 23:59:59.999",
    ],
)
def test_within_the_margin_of_midnight_it_waits_for_the_new_day(china_time: str) -> None:
    """A number dated 31 December and sent after midnight would be refused: it waits instead."""
    clock = FakeClock(china_time)
    assert today_in_china(clock=clock, sleep=clock.sleep) == "20270101"
    assert len(clock.slept) == 1
    assert clock.slept[0] <= 5.05  # bounded by the margin
    assert clock.ms >= china_ms("2027-01-01 00:00:00.000")
