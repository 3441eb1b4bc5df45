"""Function workers killed (SIGKILL) in the middle of a provider call.

A Lambda container can die at any instruction: a timeout, running out of memory, a host failure.
The local stack's workers take kill points (`paygate_local.workers.arm_kill_point`, armed through
the suite's `function_env`): the next worker whose provider request matches dies either before
the request leaves (the order is in the ledger, the provider never heard of it) or right after
reading the provider's answer (the provider acted, the ledger does not know).

Invariants: the merchant's request fails with API Gateway's 502 for a dead function (never a
hang); the merchant's retry of the very same request after the provider lease (the suite's
`PROVIDER_LEASE_MS`) completes it; every order ends resolved with at most one provider order and
one event per final state. Bills are asked for again (BeeCloud answers a repeated unpaid bill_no
with the same bill), refunds are settled by refresh (re-sent only if BeeCloud has no record),
payouts and collections are settled by BeilyPay's notify or reported `unknown` — never re-sent.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from paygate_local.workers import KillPoint
from tests.reliability.support import (
    FIGURES,
    LEASE_MS,
    Gateway,
    Merchant,
    assert_error_shape,
    bill_body,
    check_one_event,
    eventually,
    payout_body,
    today,
)

PER_POINT = 3  # orders killed at each point, per kind of order
RETRY_TIMEOUT_S = LEASE_MS / 1000 + 40  # the lease, plus the repeat's own wait and slack for 2 cores


def _killed(
    gateway: Gateway, point: KillPoint, path: str, send: Callable[[str], httpx.Response], keys: list[str]
) -> None:
    """Arm one kill point per request, send the requests at once: each one's worker dies at `point`."""
    fired = gateway.kills_fired()
    gateway.kill_worker(point, path, count=len(keys))
    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        answers = list(pool.map(send, keys))
    for answer in answers:
        # What API Gateway answers when the function's runtime exits: never a hang, never a 2xx.
        assert answer.status_code == 502, (answer.status_code, answer.text[:300])
        assert "Traceback" not in answer.text
    assert gateway.kills_fired() - fired == len(keys), "every request's worker died at the kill point"
    assert gateway.kills_pending() == 0


def _retried(send: Callable[[], httpx.Response]) -> httpx.Response:
    """The merchant's retry of the same request, repeated while the dead call's lease holds it."""

    def attempt() -> httpx.Response | None:
        response = send()
        if response.status_code in (200, 201, 202):
            return response
        assert_error_shape(response, 409)  # request_in_progress: the killed call's lease
        return None

    return eventually(attempt, timeout=RETRY_TIMEOUT_S, interval=0.5)


def _final(shop: Merchant, path: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        body: dict[str, Any] = shop.http.get(path).json()
        return body if body["status"] != "pending" else None

    return eventually(probe, timeout=RETRY_TIMEOUT_S, interval=0.5)


def test_bill_create_killed_before_or_after_the_beecloud_call_is_completed_by_the_retry(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = gateway.merchant("kill-bills")
    channels = ["WX_NATIVE", "ALI_QRCODE", "UN_WEB"]
    bills = {f"KILLBILL{i:04d}": bill_body(f"KILLBILL{i:04d}", channels[i % 3], 300 + i) for i in range(2 * PER_POINT)}
    before, after = list(bills)[:PER_POINT], list(bills)[PER_POINT:]

    def create(bill_no: str) -> httpx.Response:
        return shop.http.post("/bills", json=bills[bill_no])

    _killed(gateway, "before_send", "/1/rest/bill", create, before)
    assert all(gateway.beecloud_bill(shop, b) is None for b in before), "killed before BeeCloud heard of them"
    _killed(gateway, "after_answer", "/1/rest/bill", create, after)
    assert all(gateway.beecloud_bill(shop, b) is not None for b in after), "BeeCloud created them"
    for bill_no in bills:
        assert shop.http.get(f"/bills/{bill_no}").json()["status"] == "pending"

    calls = gateway.provider_calls("beecloud", "/1/rest/bill$")  # the create alone, not the query /1/rest/bills
    for bill_no in bills:
        retried = _retried(lambda b=bill_no: create(b))
        assert retried.json()["payment"], "the retry answers the bill with its payment parameters"
    assert calls.count() == len(bills), "each retry asked BeeCloud exactly once"
    gateway.clear_faults("beecloud")  # the counter's rule

    for bill_no, body in bills.items():
        assert gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/{bill_no}/pay").status_code == 200
        bill = _final(shop, f"/bills/{bill_no}")
        FIGURES.add("orders_checked")
        if bill["status"] != "succeeded" or bill["total_fee"] != body["total_fee"]:
            FIGURES.violation("lost", f"bill {bill_no} paid at BeeCloud, {bill['status']} here")
        check_one_event(gateway, shop, "bill.succeeded", "bill_no", bill_no)
    listed = shop.http.get("/bills", params={"limit": 50}).json()["data"]
    assert sorted(b["bill_no"] for b in listed) == sorted(bills), "one ledger entry per bill_no"
    FIGURES.assert_clean(start)


def test_refund_killed_before_or_after_the_beecloud_call_settles_once_by_refresh(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = gateway.merchant("kill-refunds")
    channels = ["UN_APP", "WX_NATIVE"]
    bills = {f"KILLREF{i:05d}": channels[i % 2] for i in range(2 * PER_POINT)}
    for bill_no, channel in bills.items():
        assert shop.http.post("/bills", json=bill_body(bill_no, channel, 900)).status_code == 201
        assert gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/{bill_no}/pay").status_code == 200
    for bill_no in bills:
        eventually(lambda b=bill_no: shop.http.get(f"/bills/{b}").json()["status"] == "succeeded")
    refunds = {f"{today()}KIL{i:03d}": bill_no for i, bill_no in enumerate(bills)}
    before, after = list(refunds)[:PER_POINT], list(refunds)[PER_POINT:]

    def refund(refund_no: str) -> httpx.Response:
        body = {"refund_no": refund_no, "bill_no": refunds[refund_no], "refund_fee": 400}
        return shop.http.post("/refunds", json=body)

    _killed(gateway, "before_send", "/1/rest/refund", refund, before)
    _killed(gateway, "after_answer", "/1/rest/refund", refund, after)

    for refund_no in refunds:  # the retry gets the stored refund back, still pending
        retried = _retried(lambda r=refund_no: refund(r))
        assert retried.status_code == 200, retried.text
        assert retried.json()["refund_no"] == refund_no

    def all_final() -> bool:
        answers = [shop.http.post(f"/refunds/{r}/refresh") for r in refunds]
        for response in answers:
            if response.status_code != 200:
                assert_error_shape(response, 502, 504, 409)
        return all(r.status_code == 200 and r.json()["status"] != "pending" for r in answers)

    eventually(all_final, timeout=60, interval=0.5)
    for refund_no, bill_no in refunds.items():
        FIGURES.add("orders_checked")
        ours = shop.http.get(f"/refunds/{refund_no}").json()
        bill = shop.http.get(f"/bills/{bill_no}").json()
        provider = gateway.beecloud_bill(shop, bill_no)
        assert provider is not None
        there = [r for r in provider["refunds"] if r["refund_no"] == refund_no]
        if len(there) != 1:
            FIGURES.violation("doubled" if there else "lost", f"refund {refund_no}: {len(there)} at BeeCloud")
        if ours["status"] != "succeeded" or bill["refunded_fee"] != 400:
            FIGURES.violation("lost", f"refund {refund_no} {ours['status']}, refunded_fee {bill['refunded_fee']}")
        if sum(r["refund_fee"] for r in provider["refunds"] if r["status"] == "SUCCESS") > 900:
            FIGURES.violation("over_refunded", f"{bill_no} at BeeCloud")
        check_one_event(gateway, shop, f"refund.{ours['status']}", "refund_no", refund_no)
    FIGURES.assert_clean(start)


def _transfers_killed(gateway: Gateway, kind: str, path: str, body: Callable[[str], dict[str, Any]]) -> None:
    """Payouts or collections killed at both points: settled by the notify, or reported `unknown`."""
    start = FIGURES.checkpoint()
    shop = gateway.merchant(f"kill-{kind}")
    prefix = "KILL-PO" if kind == "payouts" else "KILL-CO"
    orders = [f"{prefix}-{i:03d}" for i in range(2 * PER_POINT)]
    before, after = orders[:PER_POINT], orders[PER_POINT:]

    def create(out_order_no: str) -> httpx.Response:
        return shop.http.post(f"/{kind}", json=body(out_order_no))

    _killed(gateway, "before_send", path, create, before)
    _killed(gateway, "after_answer", path, create, after)
    for out_order_no in orders:
        _retried(lambda o=out_order_no: create(o))
    for out_order_no in orders:
        FIGURES.add("orders_checked")
        ours = _final(shop, f"/{kind}/{out_order_no}")
        at_provider = gateway.beilypay_orders(shop, out_order_no)
        expected_orders = 0 if out_order_no in before else 1
        if len(at_provider) > expected_orders:
            FIGURES.violation("doubled", f"{kind} {out_order_no}: {len(at_provider)} BeilyPay orders")
        if len(at_provider) < expected_orders:
            FIGURES.violation("lost", f"{kind} {out_order_no}: created at BeilyPay, no order there")
        if at_provider and at_provider[0]["status"] == 2 and ours["status"] != "succeeded":
            FIGURES.violation("lost", f"{kind} {out_order_no} succeeded at BeilyPay, {ours['status']} here")
        if not at_provider and ours["status"] == "succeeded":
            FIGURES.violation("doubled", f"{kind} {out_order_no} succeeded here, not at BeilyPay")
        singular = kind.removesuffix("s")
        check_one_event(gateway, shop, f"{singular}.{ours['status']}", "out_order_no", out_order_no)
        again = create(out_order_no)  # never re-sent, whatever its state
        assert again.status_code in (200, 202), again.text
        assert len(gateway.beilypay_orders(shop, out_order_no)) == len(at_provider)
    FIGURES.assert_clean(start)


def test_payout_killed_before_or_after_the_beilypay_call_ends_settled_or_unknown_never_twice(gateway: Gateway) -> None:
    _transfers_killed(gateway, "payouts", "/v2/trans/create", lambda o: payout_body(o, amount=1000))


def test_collection_killed_before_or_after_the_beilypay_call_ends_reported_never_twice(gateway: Gateway) -> None:
    def body(out_order_no: str) -> dict[str, Any]:
        return {
            "out_order_no": out_order_no,
            "amount": 49_900,
            "user_id": "user-42",
            "user_name": "Ravi Kumar",
            "email": "ravi@example.in",
            "mobile": "9123456780",
            "return_url": "https://shop.example.in/thanks",
        }

    _transfers_killed(gateway, "collections", "/v2/payment/create", body)
