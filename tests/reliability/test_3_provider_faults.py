"""Provider faults: 5xx, hangs past the client timeout, malformed answers and latency on a fraction
of BeeCloud and BeilyPay calls.

Invariants: the API answers 502/504 with the error JSON (never a 500 or a stack trace); every
order ends consistent — a bill is created by the merchant's retry and then paid once, a refund or
payout whose answer was lost is settled by refresh, webhook or poller, or failed — and none is
lost (paid at the provider, not here) or doubled (two provider orders, two final events).
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.reliability.support import (
    FIGURES,
    Gateway,
    Merchant,
    assert_error_shape,
    bill_body,
    check_one_event,
    eventually,
    payout_body,
    today,
)

HANG_S = 1500  # x time_scale 0.01 = 15 s: past paygate's 8 s provider read timeout


def _pass(gateway: Gateway, sandbox: str, path: str, count: int) -> None:
    """Untouched calls between faults: a zero-second latency rule (the plan uses rules in order)."""
    gateway.fault(sandbox, scope="request", kind="latency", path=path, delay_s=0, count=count)


def _plan(gateway: Gateway, sandbox: str, path: str, faults: list[dict[str, Any]], spacing: int) -> None:
    for fault in faults:
        gateway.fault(sandbox, scope="request", path=path, **fault)
        _pass(gateway, sandbox, path, spacing)


BILL_FAULTS: list[dict[str, Any]] = [
    {"kind": "error", "status": 503},
    {"kind": "malformed"},  # BeeCloud created the bill, its answer is cut in half
    {"kind": "hang", "delay_s": HANG_S, "process": True},  # created, answer never comes
    {"kind": "error", "status": 500},
    {"kind": "hang", "delay_s": HANG_S},  # never reached BeeCloud's logic
    {"kind": "latency", "delay_s": 100},  # 1 s: slow but fine
    {"kind": "malformed", "process": False},
    {"kind": "error", "status": 502},
]


def _create_with_retries(shop: Merchant, body: dict[str, Any], first: httpx.Response) -> httpx.Response:
    """What a merchant does after a 502/504: send the very same request again (bounded)."""
    response = first
    for _ in range(6):
        if response.status_code in (200, 201, 202):
            return response
        assert_error_shape(response, 502, 504, 409)
        response = shop.http.post("/bills", json=body)
    return response


def test_bill_creation_under_provider_faults_answers_502_504_then_retries_to_one_paid_bill(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = gateway.merchant("faults-bills")
    _plan(gateway, "beecloud", "/1/rest/bill$", BILL_FAULTS, spacing=2)  # creates only, never the query /1/rest/bills
    bills = {f"FLTBILL{i:05d}": bill_body(f"FLTBILL{i:05d}", total_fee=200 + i) for i in range(24)}

    with ThreadPoolExecutor(max_workers=8) as pool:
        first = dict(zip(bills, pool.map(lambda b: shop.http.post("/bills", json=b), bills.values()), strict=True))
    statuses = sorted(r.status_code for r in first.values())
    assert set(statuses) <= {201, 502, 504}, [(b, r.status_code, r.text) for b, r in first.items()]
    assert 500 not in statuses
    failed = {b: r for b, r in first.items() if r.status_code != 201}
    assert len(failed) >= 5, statuses  # the faults really hit
    for response in failed.values():
        assert assert_error_shape(response, 502, 504)["code"] in {"provider_error", "provider_timeout"}
    gateway.clear_faults("beecloud")

    for bill_no, response in failed.items():
        retried = _create_with_retries(shop, bills[bill_no], response)
        assert retried.status_code in (200, 201), retried.text
        assert retried.json()["payment"], "a bill answered 2xx must carry its payment parameters"

    for bill_no in bills:  # the customer pays each one; BeeCloud's webhook settles it
        paid = gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/{bill_no}/pay")
        assert paid.status_code == 200, paid.text
    for bill_no, body in bills.items():
        bill = eventually(lambda b=bill_no: (x := shop.http.get(f"/bills/{b}").json())["status"] == "succeeded" and x)
        FIGURES.add("orders_checked")
        assert bill["total_fee"] == body["total_fee"]
        check_one_event(gateway, shop, "bill.succeeded", "bill_no", bill_no)
    listed = shop.http.get("/bills", params={"limit": 50}).json()["data"]
    assert sorted(b["bill_no"] for b in listed) == sorted(bills), "one ledger entry per bill_no"
    FIGURES.assert_clean(start)


REFUND_FAULTS: list[dict[str, Any]] = [
    {"kind": "malformed"},  # BeeCloud took the refund, its answer is cut
    {"kind": "error", "status": 503},  # never reached BeeCloud
    {"kind": "hang", "delay_s": HANG_S, "process": True},
    {"kind": "hang", "delay_s": HANG_S},
    {"kind": "error", "status": 500},
    {"kind": "malformed", "process": False},
]


def _check_refund(gateway: Gateway, shop: Merchant, refund_no: str, bill_no: str) -> None:
    """Final here iff final at BeeCloud, sent once, never more than the bill, one event."""
    FIGURES.add("orders_checked")
    refund = shop.http.get(f"/refunds/{refund_no}").json()
    bill = shop.http.get(f"/bills/{bill_no}").json()
    provider = gateway.beecloud_bill(shop, bill_no)
    assert provider is not None
    at_provider = [r for r in provider["refunds"] if r["refund_no"] == refund_no]
    succeeded_there = sum(r["refund_fee"] for r in provider["refunds"] if r["status"] == "SUCCESS")
    if len(at_provider) > 1:
        FIGURES.violation("doubled", f"refund {refund_no} sent {len(at_provider)} times")
    if refund["status"] == "succeeded" and bill["refunded_fee"] != 400:
        FIGURES.violation("doubled", f"{bill_no} refunded_fee {bill['refunded_fee']}")
    if refund["status"] != "succeeded" and succeeded_there:
        FIGURES.violation("lost", f"refund {refund_no} succeeded at BeeCloud, {refund['status']} here")
    if succeeded_there > 900 or bill["refunded_fee"] > 900:
        FIGURES.violation("over_refunded", f"{bill_no}: {succeeded_there}")
    check_one_event(gateway, shop, f"refund.{refund['status']}", "refund_no", refund_no)


def test_refunds_whose_answer_is_lost_are_never_sent_twice_and_settle_by_refresh(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = gateway.merchant("faults-refunds")
    channels = ["UN_APP", "WX_NATIVE"] * 5
    bills = {f"FLTREF{i:06d}": channel for i, channel in enumerate(channels)}
    for bill_no, channel in bills.items():
        assert shop.http.post("/bills", json=bill_body(bill_no, channel=channel, total_fee=900)).status_code == 201
        assert gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/{bill_no}/pay").status_code == 200
    for bill_no in bills:
        eventually(lambda b=bill_no: shop.http.get(f"/bills/{b}").json()["status"] == "succeeded")

    _plan(gateway, "beecloud", "/1/rest/refund$", REFUND_FAULTS, spacing=1)
    refunds = {f"{today()}FLT{i:03d}": bill_no for i, bill_no in enumerate(bills)}
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(
            pool.map(
                lambda item: shop.http.post(
                    "/refunds", json={"refund_no": item[0], "bill_no": item[1], "refund_fee": 400}
                ),
                refunds.items(),
            )
        )
    gateway.clear_faults("beecloud")
    for response in answers:
        if response.status_code != 201:
            assert_error_shape(response, 502, 504)
    assert sum(r.status_code != 201 for r in answers) >= 4

    # Refresh (also under a few query faults) until every refund is final.
    _plan(gateway, "beecloud", "/1/rest/refund$", [{"kind": "error", "status": 503, "count": 2}], spacing=3)

    def all_final() -> bool:
        # Two refreshes of each refund at once: concurrent re-sends of a refund BeeCloud never got
        # must still refund once (BeeCloud refuses the second refund_no).
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda r: shop.http.post(f"/refunds/{r}/refresh"), [*refunds, *refunds]))
        for response in answers:
            if response.status_code != 200:
                assert_error_shape(response, 502, 504, 409)
        return all(r.status_code == 200 and r.json()["status"] != "pending" for r in answers)

    eventually(all_final, timeout=60, interval=0.5)
    gateway.clear_faults("beecloud")

    for refund_no, bill_no in refunds.items():
        _check_refund(gateway, shop, refund_no, bill_no)
    FIGURES.assert_clean(start)


def test_payouts_under_beilypay_faults_end_succeeded_failed_or_reported_unknown_never_twice(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = gateway.merchant("faults-payouts")
    faults: list[dict[str, Any]] = [
        {"kind": "error", "status": 503},
        {"kind": "malformed"},
        {"kind": "hang", "delay_s": HANG_S, "process": True},
        {"kind": "hang", "delay_s": HANG_S},
        {"kind": "error", "status": 500},
    ]
    _plan(gateway, "beilypay", "/v2/trans/create", faults, spacing=1)
    orders = [f"FLT-PO-{i:04d}" for i in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda o: shop.http.post("/payouts", json=payout_body(o, amount=1000)), orders))
    gateway.clear_faults("beilypay")
    for response in answers:
        if response.status_code not in (201, 202):
            assert_error_shape(response, 502, 504)
    for out_order_no in orders:
        FIGURES.add("orders_checked")
        at_provider = gateway.beilypay_orders(shop, out_order_no)
        if len(at_provider) > 1:
            FIGURES.violation("doubled", f"payout {out_order_no}: {len(at_provider)} BeilyPay orders")
        ours = shop.http.get(f"/payouts/{out_order_no}")
        if at_provider and ours.status_code == 404:
            FIGURES.violation("lost", f"payout {out_order_no} exists at BeilyPay, not here")
        if ours.status_code == 200 and (status := ours.json()["status"]) != "pending":
            # succeeded / failed / unknown are each reported once (unknown: an operator reconciles it)
            check_one_event(gateway, shop, f"payout.{status}", "out_order_no", out_order_no)
    # The same request again never creates a second BeilyPay order, whatever state it is in.
    for out_order_no in random.Random(3).sample(orders, 6):
        again = shop.http.post("/payouts", json=payout_body(out_order_no, amount=1000))
        assert again.status_code in (200, 201, 202) or assert_error_shape(again, 409, 502, 504)
        assert len(gateway.beilypay_orders(shop, out_order_no)) <= 1
    FIGURES.assert_clean(start)
