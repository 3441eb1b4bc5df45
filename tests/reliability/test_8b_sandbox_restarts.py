"""A provider restarted in the middle of traffic: with its state kept, and with its state lost.

`LocalStack.restart_sandbox` crashes a sandbox (connections cut, no clean shutdown) and serves it
again on its port. *State kept*: the provider's database survived — its orders, balances and the
work it had in flight (payouts completing, refunds processing, notifications not yet
acknowledged) come back and carry on. *State lost*: the same merchant accounts, no order at all —
the provider answers as if it had never heard of anything created before.

Invariants, state kept: requests in flight at the crash fail cleanly (`502` in the error shape,
a payout or collection `unknown` when its answer was cut) and the retry, the resumed notifies, a
refresh or the poller settle every order once; nothing lost, doubled or left pending.
State lost: nothing is settled without the provider's word — a refund of a bill the provider no
longer knows fails and releases the bill, reconciliation reports the paid bills it cannot find
instead of changing them, payouts and collections the provider forgot end `unknown` at the
poller's deadline (reported, never succeeded); and new orders work at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

import httpx

from tests.reliability.support import (
    FIGURES,
    POLL_DEADLINE_S,
    Gateway,
    Merchant,
    assert_error_shape,
    bill_body,
    check_one_event,
    eventually,
    payout_body,
    today,
)

SETTLE_S = 40.0
DELAYED = 1000  # x time_scale 0.01 = 10 s: notifications still waiting when the sandbox crashes
COLLECTION = {
    "amount": 25_000,
    "user_id": "user-9",
    "user_name": "Meera Iyer",
    "email": "meera.i@example.in",
    "mobile": "9988776655",
    "return_url": "https://shop.example.in/thanks",
}


def _merchant(gateway: Gateway, name: str) -> Merchant:
    gateway.clear_faults("beecloud")
    gateway.clear_faults("beilypay")
    return gateway.merchant(name)


def _control(call: Callable[[], httpx.Response]) -> httpx.Response:
    """A sandbox control call, repeated while the sandbox is still coming back."""

    def attempt() -> httpx.Response | None:
        try:
            return call()
        except httpx.TransportError:
            return None

    return eventually(attempt, timeout=15, interval=0.2)


def _clean(response: httpx.Response, *ok: int) -> None:
    if response.status_code not in ok:
        assert_error_shape(response, 409, 502, 503, 504)


def _under_restart(
    gateway: Gateway,
    sandbox: Literal["beecloud", "beilypay"],
    work: list[Callable[[], httpx.Response]],
    *,
    keep_state: bool,
) -> list[httpx.Response]:
    """Run `work` on 4 threads and restart the sandbox once a quarter of it has answered."""
    answers: list[httpx.Response | None] = [None] * len(work)
    done = threading.Semaphore(0)

    def run(i: int) -> None:
        try:
            answers[i] = work[i]()
        finally:
            done.release()

    with ThreadPoolExecutor(max_workers=4) as pool:
        for i in range(len(work)):
            pool.submit(run, i)
        for _ in range(len(work) // 4):
            assert done.acquire(timeout=60)
        gateway.restart_sandbox(sandbox, keep_state=keep_state)
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def _refund_checked(gateway: Gateway, shop: Merchant, refund_no: str, bill_no: str, fee: int, total: int) -> None:
    FIGURES.add("orders_checked")
    ours = shop.http.get(f"/refunds/{refund_no}")
    bill = shop.http.get(f"/bills/{bill_no}").json()
    provider = gateway.beecloud_bill(shop, bill_no)
    there = [r for r in (provider or {"refunds": []})["refunds"] if r["refund_no"] == refund_no]
    status = ours.json()["status"] if ours.status_code == 200 else "absent"
    if len(there) > 1:
        FIGURES.violation("doubled", f"refund {refund_no} sent {len(there)} times")
    if any(r["status"] == "SUCCESS" for r in there) and status != "succeeded":
        FIGURES.violation("lost", f"refund {refund_no} succeeded at BeeCloud, {status} here")
    if bill["refunded_fee"] != (fee if status == "succeeded" else 0) or bill["refunded_fee"] > total:
        FIGURES.violation("over_refunded", f"{bill_no} refunded_fee {bill['refunded_fee']}")
    if status in ("succeeded", "failed"):
        check_one_event(gateway, shop, f"refund.{status}", "refund_no", refund_no)


def _retry_and_pay(gateway: Gateway, shop: Merchant, bills: dict[str, dict[str, Any]]) -> None:
    """The merchant retries every create; then the customer pays every bill that exists."""
    for bill_no, body in bills.items():
        retried = shop.http.post("/bills", json=body)
        _clean(retried, 200, 201)
        ours = shop.http.get(f"/bills/{bill_no}").json()
        FIGURES.add("orders_checked")
        if ours["status"] == "failed":  # refused while BeeCloud was down: it must not exist there
            if gateway.beecloud_bill(shop, bill_no) is not None:
                FIGURES.violation("lost", f"bill {bill_no} failed here, created at BeeCloud")
            continue
        assert retried.status_code in (200, 201), retried.text
        _control(lambda b=bill_no: gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/{b}/pay"))


def test_beecloud_restarted_with_its_state_mid_traffic_settles_every_bill_and_refund_once(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = _merchant(gateway, "restart-beecloud-kept")
    paid = [f"RSTPAID{i:05d}" for i in range(6)]  # paid before, refunded during the restart
    for bill_no in paid:
        assert shop.http.post("/bills", json=bill_body(bill_no, "UN_APP", 900)).status_code == 201
        assert gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/{bill_no}/pay").status_code == 200
    for bill_no in paid:
        eventually(lambda b=bill_no: shop.http.get(f"/bills/{b}").json()["status"] == "succeeded")
    flying = [f"RSTFLY{i:06d}" for i in range(3)]  # paid just before: webhooks in flight at the crash
    for bill_no in flying:
        ref = f"{shop.beecloud_app_id}/PAY/{bill_no}"
        assert shop.http.post("/bills", json=bill_body(bill_no, "WX_NATIVE", 300)).status_code == 201
        gateway.fault("beecloud", scope="callback", kind="delay", delay_s=DELAYED, path=ref)
        assert gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/{bill_no}/pay").status_code == 200

    bills = {f"RSTBILL{i:05d}": bill_body(f"RSTBILL{i:05d}", "WX_NATIVE", 400 + i) for i in range(16)}
    refunds = {f"{today()}RST{i:03d}": bill_no for i, bill_no in enumerate(paid)}
    work: list[Callable[[], httpx.Response]] = [lambda b=b: shop.http.post("/bills", json=b) for b in bills.values()]
    work += [
        lambda r=r, b=b: shop.http.post("/refunds", json={"refund_no": r, "bill_no": b, "refund_fee": 400})
        for r, b in refunds.items()
    ]
    for answer in _under_restart(gateway, "beecloud", work, keep_state=True):
        _clean(answer, 201)

    _retry_and_pay(gateway, shop, bills)
    for bill_no in [*bills, *flying]:
        ours = eventually(lambda b=bill_no: (x := shop.http.get(f"/bills/{b}").json())["status"] != "pending" and x)
        if ours["status"] == "succeeded":
            check_one_event(gateway, shop, "bill.succeeded", "bill_no", bill_no)
    for bill_no in flying:  # delivered by the resumed delivery (no fault), not the delayed one
        acked = [a for a in gateway.beecloud_notifications(f"{shop.beecloud_app_id}/PAY/{bill_no}") if a["acked"]]
        assert acked, bill_no
        assert acked[0]["fault"] is None, acked[0]

    def all_final() -> bool:
        answers = [shop.http.post(f"/refunds/{r}/refresh") for r in refunds]
        for response in answers:
            _clean(response, 200)
        return all(r.status_code in (200, 404) and r.json().get("status") != "pending" for r in answers)

    eventually(all_final, timeout=SETTLE_S, interval=0.5)
    for refund_no, bill_no in refunds.items():
        _refund_checked(gateway, shop, refund_no, bill_no, 400, 900)
    FIGURES.assert_clean(start)


def test_beecloud_restarted_without_its_state_settles_nothing_it_cannot_prove(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = _merchant(gateway, "restart-beecloud-lost")
    paid = [f"RSTLOST{i:05d}" for i in range(4)]
    for bill_no in paid:
        assert shop.http.post("/bills", json=bill_body(bill_no, "UN_APP", 600)).status_code == 201
        assert gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/{bill_no}/pay").status_code == 200
    for bill_no in paid:
        eventually(lambda b=bill_no: shop.http.get(f"/bills/{b}").json()["status"] == "succeeded")

    gateway.restart_sandbox("beecloud", keep_state=False)

    # A refund of a bill BeeCloud no longer knows is refused, and the bill stays refundable.
    for i, bill_no in enumerate(paid):
        refund_no = f"{today()}RSL{i:03d}"
        answer = shop.http.post("/refunds", json={"refund_no": refund_no, "bill_no": bill_no, "refund_fee": 100})
        assert assert_error_shape(answer, 409)["code"] == "provider_order_not_found", answer.text
        _refund_checked(gateway, shop, refund_no, bill_no, 100, 600)
    # Reconciliation reports the paid bills BeeCloud cannot list; it never un-pays them.
    report = gateway.reconcile(shop)
    reported = {m["order_no"] for m in report["mismatches"]} if report["mismatches"] else set()
    assert set(paid) <= reported, report["mismatches"]
    for bill_no in paid:
        FIGURES.add("orders_checked")
        assert shop.http.get(f"/bills/{bill_no}").json()["status"] == "succeeded"
        check_one_event(gateway, shop, "bill.succeeded", "bill_no", bill_no)
    # New orders work at once.
    assert shop.http.post("/bills", json=bill_body("RSTAFTER0001", "UN_APP", 600)).status_code == 201
    assert gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/RSTAFTER0001/pay").status_code == 200
    eventually(lambda: shop.http.get("/bills/RSTAFTER0001").json()["status"] == "succeeded")
    FIGURES.add("orders_checked")
    check_one_event(gateway, shop, "bill.succeeded", "bill_no", "RSTAFTER0001")
    FIGURES.assert_clean(start)


def _transfer_checked(gateway: Gateway, shop: Merchant, kind: str, out_order_no: str) -> dict[str, Any]:
    """Final here; at most one BeilyPay order; succeeded there iff succeeded here; one event."""
    FIGURES.add("orders_checked")

    def settled() -> dict[str, Any] | None:
        ours: dict[str, Any] = shop.http.get(f"/{kind}s/{out_order_no}").json()
        there = gateway.beilypay_orders(shop, out_order_no)
        final_there = bool(there) and there[0]["status"] in (2, 3)
        if ours["status"] == "pending" or (final_there and ours["status"] == "unknown"):
            return None  # a notify or the poller is still on its way
        return ours

    try:
        ours = eventually(settled, timeout=POLL_DEADLINE_S + 20, interval=0.5)
    except AssertionError:
        ours = shop.http.get(f"/{kind}s/{out_order_no}").json()
        FIGURES.violation("lost", f"{kind} {out_order_no} left {ours['status']}")
        return ours
    there = gateway.beilypay_orders(shop, out_order_no)
    if len(there) > 1:
        FIGURES.violation("doubled", f"{kind} {out_order_no}: {len(there)} BeilyPay orders")
    if (bool(there) and there[0]["status"] == 2) != (ours["status"] == "succeeded"):
        FIGURES.violation("lost", f"{kind} {out_order_no}: {ours['status']} here, {there} at BeilyPay")
    check_one_event(gateway, shop, f"{kind}.{ours['status']}", "out_order_no", out_order_no)
    return ours


def test_beilypay_restarted_with_its_state_mid_traffic_settles_every_payout_and_collection(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = _merchant(gateway, "restart-beilypay-kept")
    # Notifies delayed past the crash: they are in flight when it happens, and resumed after it.
    gateway.fault("beilypay", scope="callback", kind="delay", delay_s=DELAYED, count=4)
    payouts = [f"RST-PO-{i:03d}" for i in range(16)]
    collections = [f"RST-CO-{i:03d}" for i in range(4)]
    work: list[Callable[[], httpx.Response]] = [
        lambda o=o: shop.http.post("/payouts", json=payout_body(o, amount=1500)) for o in payouts
    ]
    work += [lambda o=o: shop.http.post("/collections", json={"out_order_no": o, **COLLECTION}) for o in collections]
    for answer in _under_restart(gateway, "beilypay", work, keep_state=True):
        _clean(answer, 201, 202)
    for out_order_no in collections:  # the payer pays what BeilyPay has
        there = gateway.beilypay_orders(shop, out_order_no)
        ours = shop.http.get(f"/collections/{out_order_no}").json()
        if there and ours.get("pay_url"):
            _control(lambda u=ours["pay_url"]: gateway.beilypay.get(u))
    for out_order_no in payouts:
        _transfer_checked(gateway, shop, "payout", out_order_no)
    for out_order_no in collections:
        _transfer_checked(gateway, shop, "collection", out_order_no)
    FIGURES.assert_clean(start)


def test_beilypay_restarted_without_its_state_ends_forgotten_orders_unknown_never_succeeded(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = _merchant(gateway, "restart-beilypay-lost")
    # Accounts ending 9999 stay pending at BeilyPay until told: in flight when it forgets them.
    payouts = [f"RSL-PO-{i:03d}" for i in range(4)]
    for out_order_no in payouts:
        created = shop.http.post("/payouts", json=payout_body(out_order_no, amount=2000, account="123456789999"))
        assert created.status_code == 201, created.text
    collections = [f"RSL-CO-{i:03d}" for i in range(2)]
    for out_order_no in collections:
        created = shop.http.post("/collections", json={"out_order_no": out_order_no, **COLLECTION})
        assert created.status_code == 201, created.text

    gateway.restart_sandbox("beilypay", keep_state=False)

    for kind, orders in (("payout", payouts), ("collection", collections)):
        for out_order_no in orders:
            ours = _transfer_checked(gateway, shop, kind, out_order_no)
            assert ours["status"] == "unknown", ours  # the poller's deadline: reported, never guessed
    # New orders work at once, and a repeat of a forgotten one is never re-sent.
    assert shop.http.post("/payouts", json=payout_body("RSL-PO-NEW", amount=2000)).status_code == 201
    _transfer_checked(gateway, shop, "payout", "RSL-PO-NEW")
    again = shop.http.post("/payouts", json=payout_body(payouts[0], amount=2000, account="123456789999"))
    assert again.status_code == 200, again.text
    assert gateway.beilypay_orders(shop, payouts[0]) == []
    FIGURES.assert_clean(start)
