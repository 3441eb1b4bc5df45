"""Every create endpoint answers and counts the same way (paygate.api.creates).

A new order is 201 and one `OrdersCreated` data point with its kind as the `Order` dimension; an
identical repeat is 200 and counts nothing; a payout or collection whose provider answer was
lost is 202 and also counts `OrdersOutcomeUnknown`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bench.samples import collection_body, payout_body
from tests.support.clock import refund_no
from tests.support.functions import add_fault, api_event, invoke, pay_in_sandbox, webhook_event


def _post(function: str, path: str, auth: str, body: dict[str, Any]) -> dict[str, Any]:
    return invoke(function, api_event("POST", path, body=body, headers={"Authorization": auth}))


def _emitted(out: str) -> list[dict[str, Any]]:
    """The embedded-metric-format records a call printed: one per flush."""
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{") and '"_aws"' in line]
    return [record for record in records if "CloudWatchMetrics" in record["_aws"]]


def _counted(out: str) -> list[tuple[str, str, float]]:
    """(metric, Order dimension, total) for every Orders* metric printed."""
    return [
        (metric["Name"], record["Order"], sum(record[metric["Name"]]))
        for record in _emitted(out)
        for directive in record["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
        if metric["Name"].startswith("Orders")
    ]


def _bill_body(bill_no: str) -> dict[str, Any]:
    return {"bill_no": bill_no, "channel": "WX_NATIVE", "total_fee": 1000, "title": "tea"}


def test_a_bill_and_a_refund_count_once_and_their_repeats_not_at_all(merchant, aws, beecloud_sandbox, capsys):
    capsys.readouterr()
    first = _post("create_bill", "/bills", merchant.auth, _bill_body("RECIPEBILL01"))
    first_out = capsys.readouterr().out
    repeat = _post("create_bill", "/bills", merchant.auth, _bill_body("RECIPEBILL01"))
    repeat_out = capsys.readouterr().out
    assert invoke("callback", webhook_event(merchant, pay_in_sandbox(beecloud_sandbox.url, merchant, "RECIPEBILL01")))
    capsys.readouterr()
    refund = {"refund_no": refund_no("901"), "bill_no": "RECIPEBILL01", "refund_fee": 100}
    refunded = _post("refund", "/refunds", merchant.auth, refund)
    refunded_out = capsys.readouterr().out
    refunded_again = _post("refund", "/refunds", merchant.auth, refund)

    assert [first["statusCode"], repeat["statusCode"]] == [201, 200]
    assert [refunded["statusCode"], refunded_again["statusCode"]] == [201, 200]
    assert _counted(first_out) == [("OrdersCreated", "bill", 1)]
    assert _counted(repeat_out) == []
    assert _counted(refunded_out) == [("OrdersCreated", "refund", 1)]
    assert _counted(capsys.readouterr().out) == []


@pytest.mark.parametrize(
    ("function", "path", "kind", "body"),
    [("payout", "/payouts", "payout", payout_body), ("collect", "/collections", "collection", collection_body)],
)
def test_a_transfer_counts_once_and_a_lost_answer_is_202_and_counted_unknown(
    beilypay, aws, beilypay_faults, capsys, function, path, kind, body
):
    capsys.readouterr()
    created = _post(function, path, beilypay.auth, body("RECIPE-1"))
    created_out = capsys.readouterr().out
    repeat = _post(function, path, beilypay.auth, body("RECIPE-1"))
    repeat_out = capsys.readouterr().out
    create_path = "/v2/trans/create" if kind == "payout" else "/v2/payment/create"
    add_fault(
        beilypay_faults, scope="request", kind="code", status=20001, path=create_path
    )  # an answer that says nothing
    lost = _post(function, path, beilypay.auth, body("RECIPE-2"))
    lost_out = capsys.readouterr().out

    assert [created["statusCode"], repeat["statusCode"], lost["statusCode"]] == [201, 200, 202]
    assert json.loads(lost["body"])["status"] == "unknown"
    assert _counted(created_out) == [("OrdersCreated", kind, 1)]
    assert _counted(repeat_out) == []
    assert sorted(_counted(lost_out)) == [("OrdersCreated", kind, 1), ("OrdersOutcomeUnknown", kind, 1)]
