"""What the console's pages compute: amounts typed in yuan, the 30-day figures, a chart without script."""

from __future__ import annotations

import pytest

from paygate.console.pages import bar_chart_svg, china_day_start_ms, daily_figures, parse_yuan, yuan
from paygate.models import Bill, BillStatus, Channel

DAY_MS = 24 * 3600_000


@pytest.mark.parametrize(
    ("typed", "fen"),
    [("12.3", 1230), ("12.30", 1230), ("0.01", 1), ("1,234.56", 123456), ("¥8.80", 880), (" 7 ", 700)],
)
def test_an_amount_typed_in_yuan_is_read_exactly(typed, fen):
    assert parse_yuan(typed) == fen


@pytest.mark.parametrize("typed", ["", "0", "-1", "1.234", "abc", "1e3", "NaN", "Infinity", "0.001", "9" * 20])
def test_anything_but_a_positive_amount_with_two_decimals_is_refused(typed):
    assert parse_yuan(typed) is None


def test_yuan_is_written_with_the_fen_exact():
    assert (yuan(123456), yuan(5), yuan(0)) == ("1,234.56", "0.05", "0.00")


def _bill(bill_no: str, at_ms: int, status: BillStatus, fee: int) -> Bill:
    return Bill(
        app_id="app_1", bill_no=bill_no, channel=Channel("WX_NATIVE"), total_fee=fee, title="t", status=status,
        request_hash="h", provider_state="created", created_at_ms=at_ms, updated_at_ms=at_ms,
    )  # fmt: skip


def test_daily_figures_cover_30_china_days_with_empty_days_and_count_only_paid_volume():
    now = china_day_start_ms("2026-12-05") + 10 * 3600_000  # 10:00 in China
    bills = [
        _bill("a", now - 1000, BillStatus.SUCCEEDED, 500),
        _bill("b", now - 2000, BillStatus.PENDING, 900),
        _bill("c", china_day_start_ms("2026-12-05") - 1, BillStatus.SUCCEEDED, 100),  # 23:59:59 the day before
        _bill("d", now - 40 * DAY_MS, BillStatus.SUCCEEDED, 100),  # outside the window
    ]

    days = daily_figures(bills, now, 30)

    assert len(days) == 30
    assert (days[0].day, days[-1].day) == ("2026-11-06", "2026-12-05")
    assert (days[-1].bills, days[-1].succeeded, days[-1].volume_fen) == (2, 1, 500)
    assert (days[-2].bills, days[-2].volume_fen) == (1, 100)
    assert days[-1].success_rate == 0.5
    assert days[0].success_rate is None


def test_the_chart_is_svg_with_attributes_only_and_escapes_its_labels():
    svg = bar_chart_svg([("2026-12-01", 2.0, "<b>2</b>"), ("2026-12-02", 0.0, "0")], label='a "chart"')

    assert svg.startswith("<svg")
    assert "<script" not in svg
    assert "style=" not in svg
    assert "&lt;b&gt;2&lt;/b&gt;" in svg
    assert 'aria-label="a &quot;chart&quot;"' in svg
