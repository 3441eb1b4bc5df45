"""Periods and reports without AWS: what `from`/`to` mean, and the CSV's shape."""

from __future__ import annotations

import csv
import io

import pytest

from paygate.events import Mismatch, MismatchKind
from paygate.reconciliation import Fix, Period, Report
from paygate.reconciliation.runner import default_period, parse_instant

DAY_MS = 86_400_000
NOV_24 = 1_795_478_400_000  # 2026-11-24T00:00:00Z


def test_a_date_is_its_first_millisecond_as_from_and_its_last_as_to():
    assert parse_instant("2026-11-24") == NOV_24
    assert parse_instant("2026-11-24", end_of_day=True) == NOV_24 + DAY_MS - 1


def test_instants_without_an_offset_are_utc_and_offsets_are_honoured():
    assert parse_instant("2026-11-24T08:00:00") == NOV_24 + 8 * 3_600_000
    assert parse_instant("2026-11-24T08:00:00Z") == NOV_24 + 8 * 3_600_000
    assert parse_instant("2026-11-24T08:00:00+08:00") == NOV_24


def test_a_period_must_not_end_before_it_starts():
    with pytest.raises(ValueError, match="period"):
        Period(NOV_24, NOV_24 - 1)
    assert default_period(NOV_24, 48) == Period(NOV_24 - 2 * DAY_MS, NOV_24)


def test_the_handler_request_defaults_to_the_lookback_before_now(aws):  # aws: the module loads with its env
    from tests.support.functions import load_function

    request = load_function("reconcile").ReconcileRequest
    assert request.model_validate({}).period(NOV_24) == Period(NOV_24 - 2 * DAY_MS, NOV_24)
    assert request.model_validate({"from": "2026-11-24", "to": "2026-11-24"}).period(0) == Period(
        NOV_24, NOV_24 + DAY_MS - 1
    )
    scheduled = {"version": "0", "detail-type": "Scheduled Event", "source": "aws.events", "lookback_hours": 24}
    assert request.model_validate(scheduled).period(NOV_24) == Period(NOV_24 - DAY_MS, NOV_24)


def test_the_csv_has_one_row_per_fix_and_mismatch_with_the_same_columns():
    report = Report("rec_1", NOV_24, NOV_24 + DAY_MS, NOV_24 + DAY_MS)
    report.fixes.append(Fix("app_1", "beecloud", "bill", "B1", "pending", "succeeded", "bill.succeeded", {}))
    report.mismatches.append(
        Mismatch("app_1", "beecloud", "bill", "B2", MismatchKind.AMOUNT_DIFFERS, "pending", "paid", 299, 300,
                 'total_fee differs, "quoted"')
    )  # fmt: skip

    rows = list(csv.DictReader(io.StringIO(report.to_csv())))

    assert [(r["row"], r["order_no"], r["kind"]) for r in rows] == [
        ("fix", "B1", "pending->succeeded"),
        ("mismatch", "B2", "amount_differs"),
    ]
    assert rows[1]["detail"] == 'total_fee differs, "quoted"'
    assert (rows[1]["ledger_amount"], rows[1]["provider_amount"]) == ("299", "300")
    assert report.to_json()["mismatches"][0]["kind"] == "amount_differs"
    assert report.summary()["period"] == {"from": "2026-11-24T00:00:00.000Z", "to": "2026-11-25T00:00:00.000Z"}
