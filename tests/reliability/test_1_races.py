"""Races: concurrent identical and conflicting creates, concurrent refunds, concurrent payouts.

Invariants (ledger + provider + events): one order per merchant order number, one provider call,
identical answers for identical requests, one winner and 409s for conflicting bodies, refunds
that never together exceed their bill.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.reliability.support import (
    FIGURES,
    PAYOUT_EMAIL,
    PAYOUT_MOBILE,
    Gateway,
    Merchant,
    assert_error_shape,
    bill_body,
    check_one_event,
    eventually,
    payout_body,
    today,
)

RACERS = 50


def _concurrently(n: int, call: Any) -> list[httpx.Response]:
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(call, range(n)))


def _paid(gateway: Gateway, shop: Merchant, bill_no: str) -> dict[str, Any]:
    paid = gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/{bill_no}/pay")
    assert paid.status_code == 200, paid.text
    return eventually(lambda: (b := shop.http.get(f"/bills/{bill_no}").json())["status"] == "succeeded" and b)


def test_50_identical_bills_make_one_bill_one_provider_call_identical_answers(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = gateway.merchant("race-identical")
    calls = gateway.provider_calls("beecloud", "/1/rest/bill$")  # the create alone, not the query /1/rest/bills
    body = bill_body("RACE00000001", total_fee=4200)

    responses = _concurrently(RACERS, lambda _: shop.http.post("/bills", json=body))

    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1, statuses
    assert statuses.count(200) == RACERS - 1, statuses
    assert len({r.text for r in responses}) == 1, "identical requests must get identical bodies"
    assert calls.count() == 1, "BeeCloud must be called once"
    listed = shop.http.get("/bills", params={"limit": 50}).json()["data"]
    assert [b["bill_no"] for b in listed] == ["RACE00000001"]
    assert gateway.beecloud_bill(shop, "RACE00000001") is not None
    FIGURES.add("orders_checked")
    gateway.clear_faults("beecloud")
    FIGURES.assert_clean(start)


def test_50_conflicting_bills_one_wins_the_rest_409(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = gateway.merchant("race-conflict")
    calls = gateway.provider_calls("beecloud", "/1/rest/bill$")  # the create alone, not the query /1/rest/bills

    responses = _concurrently(
        RACERS, lambda i: shop.http.post("/bills", json=bill_body("RACE00000002", total_fee=100 + i))
    )

    winners = [r for r in responses if r.status_code == 201]
    assert len(winners) == 1, [r.status_code for r in responses]
    for loser in (r for r in responses if r.status_code != 201):
        assert assert_error_shape(loser, 409)["code"] == "bill_no_conflict"
    stored = shop.http.get("/bills/RACE00000002").json()
    assert stored["total_fee"] == winners[0].json()["total_fee"]
    assert calls.count() == 1
    provider = gateway.beecloud_bill(shop, "RACE00000002")
    assert provider is not None
    assert provider["total_fee"] == stored["total_fee"]
    FIGURES.add("orders_checked")
    gateway.clear_faults("beecloud")
    FIGURES.assert_clean(start)


def test_concurrent_requests_with_one_idempotency_key_run_once(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = gateway.merchant("race-idempotency-key")
    calls = gateway.provider_calls("beecloud", "/1/rest/bill$")  # the create alone, not the query /1/rest/bills
    body = bill_body("RACEIDEM0001", total_fee=777)
    headers = {"Idempotency-Key": "order-777-attempt"}

    responses = _concurrently(20, lambda _: shop.http.post("/bills", json=body, headers=headers))

    done = [r for r in responses if r.status_code != 409]
    for busy in (r for r in responses if r.status_code == 409):  # Powertools: the first is still running
        assert assert_error_shape(busy, 409)["code"] == "request_in_progress"
    assert done, [r.text for r in responses]
    replay = shop.http.post("/bills", json=body, headers=headers)
    assert {(r.status_code, r.text) for r in [*done, replay]} == {(201, replay.text)}, "replays are verbatim"
    reuse = shop.http.post("/bills", json={**body, "total_fee": 778}, headers=headers)
    assert assert_error_shape(reuse, 409)["code"] == "idempotency_key_reuse"
    assert calls.count() == 1
    FIGURES.add("orders_checked")
    gateway.clear_faults("beecloud")
    FIGURES.assert_clean(start)


def _refund_wave(shop: Merchant, bill_no: str, fee: int, serial: str, n: int = 20) -> list[httpx.Response]:
    def refund(i: int) -> httpx.Response:
        body = {"refund_no": f"{today()}{serial}{i:03d}", "bill_no": bill_no, "refund_fee": fee}
        return shop.http.post("/refunds", json=body)

    return _concurrently(n, refund)


def _check_refunds(gateway: Gateway, shop: Merchant, bill_no: str) -> dict[str, Any]:
    """Ledger, provider and events agree, and nothing exceeds the bill."""
    bill = shop.http.get(f"/bills/{bill_no}").json()
    refunds = [
        r
        for r in shop.http.get("/refunds", params={"bill_no": bill_no, "limit": 50}).json()["data"]
        if r["bill_no"] == bill_no
    ]
    succeeded = sum(r["refund_fee"] for r in refunds if r["status"] == "succeeded")
    provider = gateway.beecloud_bill(shop, bill_no)
    assert provider is not None
    provider_succeeded = sum(r["refund_fee"] for r in provider["refunds"] if r["status"] == "SUCCESS")
    FIGURES.add("orders_checked", 1 + len(refunds))
    if succeeded > bill["total_fee"] or provider_succeeded > bill["total_fee"]:
        FIGURES.violation("over_refunded", f"{bill_no}: {succeeded} / {provider_succeeded} of {bill['total_fee']}")
    if bill["refunded_fee"] != succeeded or provider_succeeded != succeeded:
        FIGURES.violation(
            "doubled",
            f"{bill_no}: refunded_fee {bill['refunded_fee']}, ledger {succeeded}, provider {provider_succeeded}",
        )
    if len(provider["refunds"]) != len(refunds):
        FIGURES.violation("doubled", f"{bill_no}: {len(provider['refunds'])} provider refunds, {len(refunds)} ours")
    for refund in refunds:
        if refund["status"] == "succeeded":
            check_one_event(gateway, shop, "refund.succeeded", "refund_no", refund["refund_no"])
    return bill


def test_20_concurrent_refunds_never_exceed_the_bill(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = gateway.merchant("race-refunds")
    shop.http.post("/bills", json=bill_body("RACEREF00001", channel="UN_APP", total_fee=1000))
    _paid(gateway, shop, "RACEREF00001")

    first = _refund_wave(shop, "RACEREF00001", 150, "A")  # 20 x 150 = 3000 > 1000
    accepted = [r for r in first if r.status_code == 201]
    assert len(accepted) == 1, [r.text for r in first]
    for other in first:
        if other.status_code != 201:
            assert assert_error_shape(other, 409)["code"] in {"refund_in_progress", "request_in_progress"}
    refund_no = accepted[0].json()["refund_no"]
    eventually(lambda: shop.http.get(f"/refunds/{refund_no}").json()["status"] == "succeeded")

    second = _refund_wave(shop, "RACEREF00001", 150, "B")  # one successful refund per bill (BeeCloud)
    assert all(r.status_code == 409 for r in second), [r.text for r in second]

    bill = _check_refunds(gateway, shop, "RACEREF00001")
    assert bill["refunded_fee"] == 150
    FIGURES.assert_clean(start)


def test_concurrent_identical_payouts_make_one_beilypay_order(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = gateway.merchant("race-payouts")
    body = payout_body("RACE-PO-0001")

    responses = _concurrently(30, lambda _: shop.http.post("/payouts", json=body))

    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1, [r.text for r in responses]
    assert statuses.count(200) == 29, [r.text for r in responses]
    # The payout may settle during the race (the sandbox pays out at once): the same order, maybe newer state.
    same_order = {
        (p["out_order_no"], p["amount"], p["created_at"], p["account_last4"]) for p in (r.json() for r in responses)
    }
    assert len(same_order) == 1, same_order
    orders = gateway.beilypay_orders(shop, "RACE-PO-0001")
    FIGURES.add("orders_checked")
    if len(orders) != 1:
        FIGURES.violation("doubled", f"RACE-PO-0001: {len(orders)} BeilyPay orders")
    assert len(orders) == 1

    conflicting = _concurrently(
        30, lambda i: shop.http.post("/payouts", json=payout_body("RACE-PO-0002", amount=10_000 + i))
    )
    assert [r.status_code for r in conflicting].count(201) == 1, [r.text for r in conflicting]
    for loser in (r for r in conflicting if r.status_code != 201):
        assert assert_error_shape(loser, 409)["code"] in {"out_order_no_conflict", "conflict"}
    assert len(gateway.beilypay_orders(shop, "RACE-PO-0002")) == 1
    FIGURES.add("orders_checked")
    FIGURES.assert_clean(start)


def test_concurrent_identical_collections_make_one_beilypay_order(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = gateway.merchant("race-collections")
    body = {
        "out_order_no": "RACE-CO-0001",
        "amount": 30_000,
        "user_id": "u-17",
        "user_name": "Asha Rao",
        "email": PAYOUT_EMAIL,
        "mobile": PAYOUT_MOBILE,
        "return_url": "https://shop.example/paid",
    }

    responses = _concurrently(20, lambda _: shop.http.post("/collections", json=body))

    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 1, [r.text for r in responses]
    assert statuses.count(200) == 19, [r.text for r in responses]
    assert len({(c["out_order_no"], c["created_at"], c["pay_url"]) for c in (r.json() for r in responses)}) == 1
    FIGURES.add("orders_checked")
    orders = gateway.beilypay_orders(shop, "RACE-CO-0001")
    if len(orders) != 1:
        FIGURES.violation("doubled", f"RACE-CO-0001: {len(orders)} BeilyPay orders")
    FIGURES.assert_clean(start)
