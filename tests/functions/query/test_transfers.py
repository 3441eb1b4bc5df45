"""GET /payouts, /collections (and one of each), /balance: the caller's own orders, exact INR."""

from __future__ import annotations

import httpx
import pytest

from bench.samples import collection_body, payout_body
from tests.support.functions import api_event, body_of, invoke


def _get(merchant, path, resource=None, path_params=None, query=None):
    return invoke(
        "query",
        api_event(
            "GET",
            path,
            resource=resource,
            headers={"Authorization": merchant.auth},
            path_params=path_params,
            query=query,
        ),
    )


def _payout(merchant, out_order_no, **overrides):
    body = payout_body(out_order_no, **overrides)
    invoke("payout", api_event("POST", "/payouts", body=body, headers={"Authorization": merchant.auth}))


def test_get_a_payout(beilypay, aws):
    _payout(beilypay, "PO-1")

    result = _get(beilypay, "/payouts/PO-1", "/payouts/{out_order_no}", {"out_order_no": "PO-1"})

    assert result["statusCode"] == 200
    assert (body_of(result)["out_order_no"], body_of(result)["account_last4"]) == ("PO-1", "1234")


def test_another_apps_payout_is_not_found(beilypay, merchant, aws):
    _payout(beilypay, "PO-1")

    result = _get(merchant, "/payouts/PO-1", "/payouts/{out_order_no}", {"out_order_no": "PO-1"})

    assert (result["statusCode"], body_of(result)["error"]["code"]) == (404, "payout_not_found")


def test_list_payouts_newest_first_with_paging_and_a_status_filter(beilypay, aws):
    for n in range(3):
        _payout(beilypay, f"PO-{n}")
    _payout(beilypay, "PO-FAIL", account="123456780000")

    page1 = body_of(_get(beilypay, "/payouts", query={"limit": "2"}))
    page2 = body_of(_get(beilypay, "/payouts", query={"limit": "2", "cursor": page1["next_cursor"]}))
    pending = body_of(_get(beilypay, "/payouts", query={"status": "pending"}))

    assert [p["out_order_no"] for p in page1["data"] + page2["data"]] == ["PO-FAIL", "PO-2", "PO-1", "PO-0"]
    assert len(pending["data"]) == 4


def test_get_and_list_collections(beilypay, aws):
    invoke(
        "collect", api_event("POST", "/collections", body=collection_body(), headers={"Authorization": beilypay.auth})
    )

    one = _get(beilypay, "/collections/CO-0001", "/collections/{out_order_no}", {"out_order_no": "CO-0001"})
    listed = _get(beilypay, "/collections")
    payouts = _get(beilypay, "/payouts")

    assert body_of(one)["pay_url"]
    assert [c["out_order_no"] for c in body_of(listed)["data"]] == ["CO-0001"]
    assert body_of(payouts)["data"] == []


@pytest.mark.parametrize(
    ("paise", "shown", "as_paise"), [(123_456, "1234.56", 123_456), (0, "0.00", 0), (100, "1.00", 100)]
)
def test_the_balance_is_shown_exactly(beilypay, aws, paise, shown, as_paise):
    httpx.post(f"{beilypay.sandbox_url}/_sandbox/apps/{beilypay.beilypay_app_id}/balance", json={"balance": paise})

    result = _get(beilypay, "/balance")

    assert result["statusCode"] == 200, result["body"]
    assert body_of(result) == {"object": "balance", "currency": "INR", "available": shown, "available_paise": as_paise}


def test_the_balance_of_an_app_without_beilypay_is_a_409(merchant, beilypay, aws):
    result = _get(merchant, "/balance")
    assert (result["statusCode"], body_of(result)["error"]["code"]) == (409, "provider_not_configured")


def test_beilypay_failing_the_balance_query_is_a_502(beilypay, aws, beilypay_faults):
    httpx.post(
        f"{beilypay_faults}/_sandbox/faults",
        json={"scope": "request", "kind": "code", "status": 10004, "path": "/merchant/accountInfo"},
    )
    result = _get(beilypay, "/balance")
    assert (result["statusCode"], body_of(result)["error"]["code"]) == (502, "provider_auth_failed")
