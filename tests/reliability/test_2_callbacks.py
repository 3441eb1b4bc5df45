"""Callbacks: duplicated, shuffled, interleaved with polls and refreshes; then hostile ones.

Invariants: every order makes one transition and one event id however often and in whatever
order its webhook arrives; a forged, mismatched, misdirected, unknown or replayed webhook is
refused (no ack word), changes nothing, publishes nothing, and is logged as a security event
with the CallbackRejected metric.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from paygate.providers.beecloud import webhook_sign, webhook_signature
from paygate.providers.beilypay import sign as beilypay_sign
from tests.reliability.support import (
    FIGURES,
    Gateway,
    Merchant,
    bill_body,
    check_one_event,
    eventually,
    payout_body,
    today,
)

COPIES = 5
CHANNELS = ["WX_NATIVE", "UN_APP", "ALI_WEB", "WX_APP", "UN_WEB", "ALI_QRCODE", "WX_NATIVE", "UN_APP"]


def _webhook_url(gateway: Gateway, merchant: Merchant) -> str:
    return f"{gateway.info.api_url}/callbacks/beecloud/{merchant.app_id}"


def _post_webhook(gateway: Gateway, url: str, body: Any) -> httpx.Response:
    return gateway.anonymous.post(url, json=body)


def _captured(gateway: Gateway, merchant: Merchant, kind: str, order_no: str) -> dict[str, Any]:
    """The signed body the sandbox produced (and, by fault injection, did not send)."""
    ref = f"{merchant.beecloud_app_id}/{kind}/{order_no}"
    attempts = eventually(lambda: gateway.beecloud_notifications(ref), timeout=20)
    return dict(attempts[0]["body"])


def _signed(merchant: Merchant, *, kind: str, order_no: str, fee: int, channel: str = "WX") -> dict[str, Any]:
    """A webhook signed with the merchant's real BeeCloud secrets (what only BeeCloud could send)."""
    timestamp = 1_764_000_000_000 + random.randrange(10**6)
    app_id, secret, master = (merchant.beecloud[k] for k in ("app_id", "app_secret", "master_secret"))
    return {
        "transaction_id": order_no,
        "transaction_type": kind,
        "channel_type": channel,
        "sub_channel_type": f"{channel}_NATIVE" if channel == "WX" else None,
        "transaction_fee": fee,
        "trade_success": True,
        "optional": {},
        "timestamp": timestamp,
        "sign": webhook_sign(app_id, secret, timestamp),
        "signature": webhook_signature(app_id, order_no, kind, channel, fee, master),
    }


def _run_shuffled(work: list[tuple[str, str]], seed: int, call: Any) -> None:
    """Run every (kind, order) item concurrently in a seeded random order; all must answer 200."""
    random.Random(seed).shuffle(work)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda item: (item[0], call(*item)), work))
    for kind, response in results:
        assert response.status_code == 200, (kind, response.status_code, response.text)
        assert kind != "hook" or response.text == "success"


def _check_paid_once(gateway: Gateway, shop: Merchant, bills: dict[str, tuple[str, int]]) -> None:
    for bill_no, (_channel, fee) in bills.items():
        bill = shop.http.get(f"/bills/{bill_no}").json()
        FIGURES.add("orders_checked")
        if bill["status"] != "succeeded":
            FIGURES.violation("lost", f"{bill_no} paid at the provider, {bill['status']} here")
        assert bill["total_fee"] == fee
        check_one_event(gateway, shop, "bill.succeeded", "bill_no", bill_no)


def _check_refunded_once(gateway: Gateway, shop: Merchant, refunds: dict[str, str], fee: int) -> None:
    for refund_no, bill_no in refunds.items():
        FIGURES.add("orders_checked")
        refund = shop.http.get(f"/refunds/{refund_no}").json()
        bill = shop.http.get(f"/bills/{bill_no}").json()
        if refund["status"] != "succeeded":
            FIGURES.violation("lost", f"refund {refund_no} is {refund['status']}")
        if bill["refunded_fee"] != fee:
            FIGURES.violation("doubled", f"{bill_no} refunded_fee {bill['refunded_fee']} after one refund of {fee}")
        check_one_event(gateway, shop, "refund.succeeded", "refund_no", refund_no)


def test_every_webhook_five_times_shuffled_with_polls_and_refreshes_moves_each_order_once(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = gateway.merchant("callbacks-dup")
    gateway.fault("beecloud", scope="callback", kind="drop", path=f"{shop.beecloud_app_id}/", count=2 * len(CHANNELS))
    bills = {f"CBDUP{i:07d}": (ch, 1000 + i) for i, ch in enumerate(CHANNELS)}
    for bill_no, (channel, fee) in bills.items():
        created = shop.http.post("/bills", json=bill_body(bill_no, channel=channel, total_fee=fee))
        assert created.status_code == 201, created.text
        assert gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/{bill_no}/pay").status_code == 200
    pay_hooks = {bill_no: _captured(gateway, shop, "PAY", bill_no) for bill_no in bills}
    assert all(shop.http.get(f"/bills/{b}").json()["status"] == "pending" for b in bills)  # nothing delivered yet
    url = _webhook_url(gateway, shop)

    def bill_call(kind: str, bill_no: str) -> httpx.Response:
        if kind == "hook":
            return _post_webhook(gateway, url, pay_hooks[bill_no])
        if kind == "poll":
            return shop.http.get(f"/bills/{bill_no}")
        return shop.http.get("/bills", params={"limit": 50})

    work = [("hook", b) for b in bills for _ in range(COPIES)] + [("poll", b) for b in bills for _ in range(2)]
    _run_shuffled([*work, *[("list", "")] * 4], 5, bill_call)
    _check_paid_once(gateway, shop, bills)

    # Refunds: the REFUND webhook five times, shuffled with refresh calls that may settle it first.
    refunds = {f"{today()}CB{i:03d}": bill_no for i, bill_no in enumerate(bills)}
    for refund_no, bill_no in refunds.items():
        created = shop.http.post("/refunds", json={"refund_no": refund_no, "bill_no": bill_no, "refund_fee": 500})
        assert created.status_code == 201, created.text
    refund_hooks = {refund_no: _captured(gateway, shop, "REFUND", refund_no) for refund_no in refunds}

    def refund_call(kind: str, refund_no: str) -> httpx.Response:
        if kind == "hook":
            return _post_webhook(gateway, url, refund_hooks[refund_no])
        return shop.http.post(f"/refunds/{refund_no}/refresh")

    work = [("hook", r) for r in refunds for _ in range(COPIES)] + [("refresh", r) for r in refunds for _ in range(2)]
    _run_shuffled(work, 6, refund_call)
    _check_refunded_once(gateway, shop, refunds, 500)
    gateway.clear_faults("beecloud")
    FIGURES.assert_clean(start)


def test_sandbox_duplicate_out_of_order_and_delayed_webhooks_settle_each_bill_once(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = gateway.merchant("callbacks-faults")
    prefix = f"{shop.beecloud_app_id}/PAY/"
    for kind, count in (("duplicate", 3), ("out_of_order", 3), ("delay", 2)):
        gateway.fault("beecloud", scope="callback", kind=kind, path=prefix, count=count, delay_s=100)
    bills = [f"CBFLT{i:07d}" for i in range(10)]
    for bill_no in bills:
        assert shop.http.post("/bills", json=bill_body(bill_no, total_fee=300)).status_code == 201
        assert gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/{bill_no}/pay").status_code == 200
    for bill_no in bills:
        eventually(lambda b=bill_no: shop.http.get(f"/bills/{b}").json()["status"] == "succeeded", timeout=30)
        FIGURES.add("orders_checked")
        check_one_event(gateway, shop, "bill.succeeded", "bill_no", bill_no)
    FIGURES.assert_clean(start)


def test_hostile_webhooks_are_refused_change_nothing_and_are_security_events(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop, other = gateway.merchant("callbacks-victim"), gateway.merchant("callbacks-other")
    gateway.fault("beecloud", scope="callback", kind="drop", path=f"{shop.beecloud_app_id}/", count=2)
    for bill_no in ("CBSECPAID001", "CBSECFORG001", "CBSECPEND001", "CBSECPEND002"):
        assert shop.http.post("/bills", json=bill_body(bill_no, total_fee=700)).status_code == 201
    assert other.http.post("/bills", json=bill_body("CBSECFORG001", total_fee=700)).status_code == 201
    for bill_no in ("CBSECPAID001", "CBSECFORG001"):  # paid at BeeCloud; their webhooks are captured
        assert gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/{bill_no}/pay").status_code == 200
    paid_hook = _captured(gateway, shop, "PAY", "CBSECPAID001")
    forgeable = _captured(gateway, shop, "PAY", "CBSECFORG001")
    url = _webhook_url(gateway, shop)
    assert _post_webhook(gateway, url, paid_hook).text == "success"  # the genuine one, applied
    eventually(lambda: shop.http.get("/bills/CBSECPAID001").json()["status"] == "succeeded")

    before = {
        (m.app_id, b): m.http.get(f"/bills/{b}").json()
        for m, b in [(shop, "CBSECFORG001"), (shop, "CBSECPEND001"), (shop, "CBSECPEND002"), (other, "CBSECFORG001")]
    }

    # Only this scenario's apps: earlier scenarios' orders may still settle (a follow-up, a retry).
    def scenario_events() -> int:
        return len(gateway.events(app_id=shop.app_id)) + len(gateway.events(app_id=other.app_id))

    events_before = scenario_events()
    records_before, metric_before = gateway.security_events()

    replay = {**paid_hook, "transaction_id": "CBSECPEND001", "transactionId": "CBSECPEND001"}
    replay_unsigned = {k: v for k, v in replay.items() if k != "signature"}
    replay_unsigned["transaction_id"] = replay_unsigned["transactionId"] = "CBSECPEND002"
    hostile: list[tuple[str, str, Any]] = [
        ("forged signature", url, {**forgeable, "sign": "0" * 32, "signature": "f" * 32}),
        ("forged, signature only", url, {k: v for k, v in forgeable.items() if k != "sign"} | {"signature": "a" * 32}),
        ("wrong amount", url, _signed(shop, kind="PAY", order_no="CBSECPEND001", fee=699)),
        ("wrong app", _webhook_url(gateway, other), forgeable),
        ("unknown app", f"{gateway.info.api_url}/callbacks/beecloud/app_0123456789abcdef", forgeable),
        ("unknown order", url, _signed(shop, kind="PAY", order_no="CBSECNONE001", fee=700)),
        ("unknown refund", url, _signed(shop, kind="REFUND", order_no=f"{today()}NONE01", fee=700)),
        ("replay for another order", url, replay),
        ("replay without signature", url, replay_unsigned),
        ("not JSON", url, "success"),
    ]
    FIGURES.add("bad_inputs_tried", len(hostile))
    for name, target, body in hostile:
        response = gateway.anonymous.post(target, json=body)
        assert response.status_code == 400, (name, response.status_code, response.text)
        assert response.text != "success", name

    for (app_id, bill_no), old in before.items():
        merchant = shop if app_id == shop.app_id else other
        now = merchant.http.get(f"/bills/{bill_no}").json()
        FIGURES.add("orders_checked")
        if now != old:
            FIGURES.violation(
                "doubled", f"a hostile webhook changed {app_id}/{bill_no}: {old['status']} -> {now['status']}"
            )
    assert scenario_events() == events_before, "a refused webhook published an event"

    ours = {shop.app_id, other.app_id, "app_0123456789abcdef"}

    def logged() -> tuple[list[dict[str, Any]], int] | None:
        records, metric = gateway.security_events()
        mine = [r for r in records[len(records_before) :] if r.get("app_id") in ours]
        return (mine, metric) if len(mine) >= len(hostile) else None

    records, metric = eventually(logged, timeout=10)
    assert len(records) == len(hostile), [r.get("reason") for r in records]  # one security event per attempt
    assert metric - metric_before >= len(hostile)  # CallbackRejected (dimension Provider only)
    assert all(r.get("level") == "WARNING" and r.get("reason") for r in records)

    # The forged one's genuine webhook still works afterwards: refusing did not poison the order.
    assert _post_webhook(gateway, url, forgeable).text == "success"
    assert shop.http.get("/bills/CBSECFORG001").json()["status"] == "succeeded"
    assert other.http.get("/bills/CBSECFORG001").json()["status"] == "pending"
    gateway.clear_faults("beecloud")
    FIGURES.assert_clean(start)


def test_beilypay_payout_notifies_five_times_shuffled_with_polls_settle_once_and_forgeries_are_refused(
    gateway: Gateway,
) -> None:
    start = FIGURES.checkpoint()
    shop, other = gateway.merchant("notify-dup"), gateway.merchant("notify-other")
    orders = [f"CB-PO-{i:04d}" for i in range(6)]
    gateway.fault("beilypay", scope="callback", kind="drop", count=len(orders))  # captured, not sent
    created = {o: shop.http.post("/payouts", json=payout_body(o, amount=2_000 + i)) for i, o in enumerate(orders)}
    assert all(r.status_code == 201 for r in created.values()), [r.text for r in created.values()]
    provider_no = {o: r.json()["provider_order_no"] for o, r in created.items()}
    notifies = {
        o: dict(
            eventually(
                lambda n=n: gateway.beilypay.get("/_sandbox/notifications", params={"ref": n}).json()["attempts"]
            )[0]["body"]
        )
        for o, n in provider_no.items()
    }
    url = f"{gateway.info.api_url}/callbacks/beilypay/{shop.app_id}"

    def call(kind: str, out_order_no: str) -> httpx.Response:
        if kind == "hook":
            response = gateway.anonymous.post(url, json=notifies[out_order_no])
            assert "SUCC" in response.text, response.text
            return response
        return shop.http.get(f"/payouts/{out_order_no}")

    work = [("hook", o) for o in orders for _ in range(COPIES)] + [("poll", o) for o in orders for _ in range(2)]
    random.Random(7).shuffle(work)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda item: call(*item), work))
    assert all(r.status_code == 200 for r in results), [r.text for r in results if r.status_code != 200]
    for out_order_no in orders:
        FIGURES.add("orders_checked")
        payout = shop.http.get(f"/payouts/{out_order_no}").json()
        if payout["status"] != "succeeded":
            FIGURES.violation("lost", f"payout {out_order_no} paid by BeilyPay, {payout['status']} here")
        check_one_event(gateway, shop, "payout.succeeded", "out_order_no", out_order_no)

    # Forged, re-amounted, misdirected and unknown notifies: refused, nothing written.
    secret = str(shop.beilypay["secret"])
    sample = notifies[orders[0]]
    unsigned = {k: v for k, v in sample.items() if k != "sign"}
    resigned = {**unsigned, "payAmount": sample["payAmount"] + 1}
    unknown = {**unsigned, "outOrderNo": "CB-PO-NONE", "orderNo": "999999999999999999"}
    hostile = [
        (url, {**sample, "sign": "0" * 32}),
        (url, {**resigned, "sign": beilypay_sign(resigned, secret)}),
        (url, {**unknown, "sign": beilypay_sign(unknown, secret)}),
        (f"{gateway.info.api_url}/callbacks/beilypay/{other.app_id}", sample),
    ]
    FIGURES.add("bad_inputs_tried", len(hostile))
    before = [shop.http.get(f"/payouts/{o}").json() for o in orders]
    records_before, _ = gateway.security_events()
    for target, body in hostile:
        response = gateway.anonymous.post(target, json=body)
        assert response.status_code == 400, response.text
        assert "SUCC" not in response.text
    assert [shop.http.get(f"/payouts/{o}").json() for o in orders] == before
    eventually(lambda: len(gateway.security_events()[0]) - len(records_before) >= len(hostile), timeout=10)
    FIGURES.assert_clean(start)
