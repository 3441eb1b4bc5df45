"""Provider answers that are valid JSON with a field missing or of the wrong type, on every call.

The sandboxes' `missing_field` and `wrong_type` faults process the request (the provider acts)
and then break one field of an answer that still parses: BeeCloud's bill create, refund, bill
query (through reconciliation), refund query and WeChat refund status; BeilyPay's payout and
collection create and query (through the poller), and the balance. For BeilyPay, `data.sign` is
removed with the field where the fault is meant to reach the parser rather than the signature.

Invariants: an answer paygate cannot read is never taken for an outcome — the API answers a 502
in the error shape (or, for a create whose order may exist, keeps it pending or reports it
`unknown`), nothing is settled on it, and the next good answer (retry, refresh, notify, poller or
reconciliation) settles every order once: nothing lost, doubled or left pending.
"""

from __future__ import annotations

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

SETTLE_S = 40.0


def _merchant(gateway: Gateway, name: str) -> Merchant:
    """A fresh tenant, with no fault rule left by earlier scenarios (the oldest matching rule wins)."""
    gateway.clear_faults("beecloud")
    gateway.clear_faults("beilypay")
    return gateway.merchant(name)


def _bad(gateway: Gateway, sandbox: str, path: str, kind: str, field: str) -> None:
    gateway.fault(sandbox, scope="request", kind=kind, path=path, field=field)


def _pending_rules(gateway: Gateway, sandbox: str, path: str) -> int:
    client = gateway.beecloud if sandbox == "beecloud" else gateway.beilypay
    return sum(1 for rule in client.get("/_sandbox/faults").json()["faults"] if rule["path"] == path)


def _ok_or_502(response: httpx.Response, *ok: int) -> None:
    if response.status_code not in ok:
        assert_error_shape(response, 502)


def _final(shop: Merchant, path: str, timeout: float = SETTLE_S) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        body: dict[str, Any] = shop.http.get(path).json()
        return body if body["status"] != "pending" else None

    return eventually(probe, timeout=timeout, interval=0.3)


def _succeeded(shop: Merchant, path: str) -> dict[str, Any]:
    return eventually(lambda: (body := shop.http.get(path).json())["status"] == "succeeded" and body, timeout=SETTLE_S)


def _pay(gateway: Gateway, shop: Merchant, bill_no: str) -> None:
    assert gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/{bill_no}/pay").status_code == 200


# -- BeeCloud -----------------------------------------------------------------------------------

BILL_CREATE: list[tuple[str, str, str]] = [  # channel, kind, field
    ("WX_NATIVE", "missing_field", "code_url"),
    ("WX_NATIVE", "wrong_type", "code_url"),
    ("WX_NATIVE", "missing_field", "result_code"),
    ("WX_NATIVE", "wrong_type", "result_code"),
    ("UN_APP", "missing_field", "tn"),
    ("UN_APP", "wrong_type", "tn"),
    ("ALI_APP", "wrong_type", "order_string"),
    ("UN_WEB", "wrong_type", "html"),
]


def test_bill_create_answers_with_a_broken_field_are_502_and_the_retry_creates_one_bill(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = _merchant(gateway, "bad-answer-bills")
    bills = {}
    for i, (channel, kind, field) in enumerate(BILL_CREATE):
        bill_no = f"BADBILL{i:05d}"
        bills[bill_no] = bill_body(bill_no, channel, 500 + i)
        _bad(gateway, "beecloud", "/1/rest/bill", kind, field)
        first = shop.http.post("/bills", json=bills[bill_no])
        assert first.status_code == 502, (kind, field, first.status_code, first.text)
        assert_error_shape(first, 502)
        assert gateway.beecloud_bill(shop, bill_no) is not None  # BeeCloud did create it
        retried = shop.http.post("/bills", json=bills[bill_no])
        assert retried.status_code == 200, retried.text
        assert retried.json()["payment"]
    for bill_no, body in bills.items():
        _pay(gateway, shop, bill_no)
        bill = _final(shop, f"/bills/{bill_no}")
        FIGURES.add("orders_checked")
        if bill["status"] != "succeeded" or bill["total_fee"] != body["total_fee"]:
            FIGURES.violation("lost", f"bill {bill_no}: {bill['status']}")
        check_one_event(gateway, shop, "bill.succeeded", "bill_no", bill_no)
    FIGURES.assert_clean(start)


REFUND_CREATE: list[tuple[str, str, str]] = [
    ("UN_APP", "missing_field", "result_code"),
    ("UN_APP", "wrong_type", "result_code"),
    ("UN_APP", "wrong_type", "id"),
    ("UN_APP", "missing_field", "id"),  # optional: a usable answer
    ("ALI_QRCODE", "wrong_type", "url"),
    ("ALI_QRCODE", "missing_field", "url"),  # optional: a usable answer
    ("WX_NATIVE", "wrong_type", "result_code"),
    ("WX_NATIVE", "wrong_type", "id"),
]

REFUND_QUERY: list[tuple[str, str]] = [  # kind, field of GET /1/rest/refunds
    ("missing_field", "refunds"),
    ("wrong_type", "refunds"),
    ("wrong_type", "refunds.*"),
    ("missing_field", "refunds.*"),  # an empty list: "no such refund", the re-send is refused
    ("wrong_type", "refunds.*.finish"),
    ("missing_field", "refunds.*.result"),
    ("wrong_type", "refunds.*.refund_no"),
    ("wrong_type", "result_code"),
]

REFUND_STATUS: list[tuple[str, str]] = [  # kind, field of GET /1/rest/refund/status (WeChat)
    ("missing_field", "refund_status"),
    ("wrong_type", "refund_status"),
    ("missing_field", "result_code"),
]


def _paid_bills(gateway: Gateway, shop: Merchant, channels: dict[str, str]) -> None:
    for bill_no, channel in channels.items():
        assert shop.http.post("/bills", json=bill_body(bill_no, channel, 900)).status_code == 201
        _pay(gateway, shop, bill_no)
    for bill_no in channels:
        eventually(lambda b=bill_no: shop.http.get(f"/bills/{b}").json()["status"] == "succeeded")


def _check_refund(gateway: Gateway, shop: Merchant, refund_no: str, bill_no: str) -> None:
    FIGURES.add("orders_checked")
    ours = shop.http.get(f"/refunds/{refund_no}").json()
    bill = shop.http.get(f"/bills/{bill_no}").json()
    provider = gateway.beecloud_bill(shop, bill_no)
    assert provider is not None
    there = [r for r in provider["refunds"] if r["refund_no"] == refund_no]
    if len(there) > 1:
        FIGURES.violation("doubled", f"refund {refund_no} sent {len(there)} times")
    succeeded_there = any(r["status"] == "SUCCESS" for r in there)
    if succeeded_there != (ours["status"] == "succeeded"):
        FIGURES.violation("lost", f"refund {refund_no}: {ours['status']} here, {there} at BeeCloud")
    if bill["refunded_fee"] != (400 if ours["status"] == "succeeded" else 0):
        FIGURES.violation("doubled", f"{bill_no} refunded_fee {bill['refunded_fee']}")
    if sum(r["refund_fee"] for r in provider["refunds"] if r["status"] == "SUCCESS") > 900:
        FIGURES.violation("over_refunded", bill_no)
    check_one_event(gateway, shop, f"refund.{ours['status']}", "refund_no", refund_no)


def _refresh_until_final(shop: Merchant, refund_nos: list[str]) -> None:
    def all_final() -> bool:
        answers = [shop.http.post(f"/refunds/{r}/refresh") for r in refund_nos]
        for response in answers:
            _ok_or_502(response, 200)
        return all(r.status_code == 200 and r.json()["status"] != "pending" for r in answers)

    eventually(all_final, timeout=SETTLE_S, interval=0.5)


def test_refund_create_answers_with_a_broken_field_never_settle_and_refresh_settles_once(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = _merchant(gateway, "bad-answer-refunds")
    bills = {f"BADREF{i:06d}": channel for i, (channel, _, _) in enumerate(REFUND_CREATE)}
    _paid_bills(gateway, shop, bills)
    refunds = {f"{today()}BAD{i:03d}": bill_no for i, bill_no in enumerate(bills)}
    for (refund_no, bill_no), (_, kind, field) in zip(refunds.items(), REFUND_CREATE, strict=True):
        _bad(gateway, "beecloud", "/1/rest/refund", kind, field)
        answer = shop.http.post("/refunds", json={"refund_no": refund_no, "bill_no": bill_no, "refund_fee": 400})
        _ok_or_502(answer, 201)  # pending until BeeCloud's webhook or a refresh says otherwise
    _refresh_until_final(shop, list(refunds))
    for refund_no, bill_no in refunds.items():
        _check_refund(gateway, shop, refund_no, bill_no)
    FIGURES.assert_clean(start)


def test_refund_queries_with_a_broken_field_are_502_and_never_settle_a_refund(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = _merchant(gateway, "bad-answer-refund-queries")
    un_bills = {f"BADRQU{i:06d}": "UN_APP" for i in range(len(REFUND_QUERY))}
    wx_bills = {f"BADRQW{i:06d}": "WX_NATIVE" for i in range(len(REFUND_STATUS))}
    _paid_bills(gateway, shop, {**un_bills, **wx_bills})
    refunds = {f"{today()}BRQ{i:03d}": bill_no for i, bill_no in enumerate([*un_bills, *wx_bills])}
    for refund_no, bill_no in refunds.items():  # their REFUND webhooks are lost: only a refresh settles them
        gateway.fault("beecloud", scope="callback", kind="drop", path=f"{shop.beecloud_app_id}/REFUND/{refund_no}")
        body = {"refund_no": refund_no, "bill_no": bill_no, "refund_fee": 400}
        assert shop.http.post("/refunds", json=body).status_code == 201
    plan = [("/1/rest/refunds", *rule) for rule in REFUND_QUERY] + [
        ("/1/rest/refund/status", *rule) for rule in REFUND_STATUS
    ]
    for (refund_no, _), (path, kind, field) in zip(refunds.items(), plan, strict=True):
        _bad(gateway, "beecloud", path, kind, field)
        refreshed = shop.http.post(f"/refunds/{refund_no}/refresh")
        _ok_or_502(refreshed, 200)
        assert _pending_rules(gateway, "beecloud", path) == 0, "the refresh met the broken answer"
        assert shop.http.get(f"/refunds/{refund_no}").json()["status"] == "pending", (path, kind, field)
    _refresh_until_final(shop, list(refunds))
    for refund_no, bill_no in refunds.items():
        _check_refund(gateway, shop, refund_no, bill_no)
    FIGURES.assert_clean(start)


BILL_QUERY: list[tuple[str, str]] = [  # kind, field of GET /1/rest/bills
    ("wrong_type", "bills.*.spay_result"),
    ("missing_field", "bills.*.total_fee"),
    ("wrong_type", "bills"),
    ("missing_field", "result_code"),
]


def test_reconciliation_meeting_broken_bill_listings_settles_nothing_then_settles_once(gateway: Gateway) -> None:
    """Bills paid whose webhooks were lost: only reconciliation's bill query can settle them."""
    start = FIGURES.checkpoint()
    shop = _merchant(gateway, "bad-answer-reconcile")
    bills = [f"BADREC{i:06d}" for i in range(3)]
    for bill_no in bills:
        # WeChat: the family reconciliation lists first, so each broken listing is met.
        assert shop.http.post("/bills", json=bill_body(bill_no, "WX_NATIVE", 700)).status_code == 201
        gateway.fault("beecloud", scope="callback", kind="drop", path=f"{shop.beecloud_app_id}/PAY/{bill_no}")
        _pay(gateway, shop, bill_no)
    for kind, field in BILL_QUERY:
        _bad(gateway, "beecloud", "/1/rest/bills", kind, field)
        report = gateway.reconcile(shop)
        assert report["exit_code"] == 1, "a listing paygate cannot read is an error of the run"
        assert report["fixes"] == []
        for bill_no in bills:
            assert shop.http.get(f"/bills/{bill_no}").json()["status"] == "pending", (kind, field)
    gateway.clear_faults("beecloud")
    report = gateway.reconcile(shop)
    assert report["errors"] == [], report["errors"]
    for bill_no in bills:
        FIGURES.add("orders_checked")
        if shop.http.get(f"/bills/{bill_no}").json()["status"] != "succeeded":
            FIGURES.violation("lost", f"bill {bill_no} paid at BeeCloud, not settled by reconciliation")
        check_one_event(gateway, shop, "bill.succeeded", "bill_no", bill_no)
    FIGURES.assert_clean(start)


# -- BeilyPay -----------------------------------------------------------------------------------

PAYOUT_CREATE: list[tuple[str, str]] = [
    ("missing_field", "data.orderNo"),  # the signature no longer verifies
    ("missing_field", "data.sign,data.orderNo"),
    ("wrong_type", "data.sign,data.orderNo"),
    ("wrong_type", "data.sign,data.status"),
    ("missing_field", "data.sign,data.payAmount"),
    ("wrong_type", "data.sign,data.outOrderNo"),
    ("wrong_type", "code"),
    ("missing_field", "data"),
    ("wrong_type", "data"),
    ("missing_field", "data.sign"),  # an unsigned but complete answer is usable
]

TRANS_QUERY: list[tuple[str, str]] = [
    ("wrong_type", "data.sign,data.status"),
    ("missing_field", "data.sign,data.status"),
    ("wrong_type", "data.sign,data.payAmount"),
    ("missing_field", "data.sign,data.orderNo"),
    ("wrong_type", "data.status"),
    ("missing_field", "data"),
    ("wrong_type", "code"),
    ("missing_field", "code"),
]


def _check_transfer(gateway: Gateway, shop: Merchant, kind: str, out_order_no: str, *, paid: bool) -> dict[str, Any]:
    """Final here, at most one BeilyPay order, final here iff final there, one event."""
    FIGURES.add("orders_checked")
    try:
        ours = _final(shop, f"/{kind}s/{out_order_no}") if not paid else _succeeded(shop, f"/{kind}s/{out_order_no}")
    except AssertionError:
        ours = shop.http.get(f"/{kind}s/{out_order_no}").json()
    there = gateway.beilypay_orders(shop, out_order_no)
    if len(there) > 1:
        FIGURES.violation("doubled", f"{kind} {out_order_no}: {len(there)} BeilyPay orders")
    if paid and ours["status"] != "succeeded":
        FIGURES.violation("lost", f"{kind} {out_order_no} succeeded at BeilyPay, {ours['status']} here")
    check_one_event(gateway, shop, f"{kind}.{ours['status']}", "out_order_no", out_order_no)
    return ours


def test_payout_create_answers_with_a_broken_field_end_unknown_then_settled_by_the_notify(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = _merchant(gateway, "bad-answer-payouts")
    orders = [f"BAD-PO-{i:03d}" for i in range(len(PAYOUT_CREATE))]
    for out_order_no, (kind, field) in zip(orders, PAYOUT_CREATE, strict=True):
        _bad(gateway, "beilypay", "/v2/trans/create", kind, field)
        answer = shop.http.post("/payouts", json=payout_body(out_order_no, amount=1000))
        assert answer.status_code in (201, 202), (kind, field, answer.text)
        assert len(gateway.beilypay_orders(shop, out_order_no)) == 1
    for out_order_no in orders:  # BeilyPay completes each; its notify settles even an `unknown` one
        _check_transfer(gateway, shop, "payout", out_order_no, paid=True)
    FIGURES.assert_clean(start)


def test_payout_queries_with_a_broken_field_never_settle_and_the_poller_settles_once(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = _merchant(gateway, "bad-answer-payout-queries")
    orders = [f"BAD-PQ-{i:03d}" for i in range(4)]
    # Every notify of these payouts is lost: only the poller's /v2/trans/query can settle them.
    gateway.fault("beilypay", scope="callback", kind="drop", count=len(orders))
    for kind, field in TRANS_QUERY:
        _bad(gateway, "beilypay", "/v2/trans/query", kind, field)
    for out_order_no in orders:
        assert shop.http.post("/payouts", json=payout_body(out_order_no, amount=1000)).status_code == 201
    eventually(lambda: _pending_rules(gateway, "beilypay", "/v2/trans/query") == 0, timeout=SETTLE_S)
    for out_order_no in orders:
        _check_transfer(gateway, shop, "payout", out_order_no, paid=True)
    FIGURES.assert_clean(start)


COLLECTION_CREATE: list[tuple[str, str]] = [
    ("missing_field", "data.payUrl"),
    ("missing_field", "data.sign,data.payUrl"),
    ("wrong_type", "data.sign,data.payUrl"),
    ("wrong_type", "data.sign,data.orderNo"),
    ("missing_field", "data.sign,data.payAmount"),
    ("wrong_type", "code"),
]

PAYMENT_QUERY: list[tuple[str, str]] = [
    ("wrong_type", "data.sign,data.status"),
    ("missing_field", "data.sign,data.status"),
    ("wrong_type", "data.sign,data.paid"),
    ("wrong_type", "data.sign,data.orderNo"),
    ("wrong_type", "data.paid"),
    ("wrong_type", "data"),
]

COLLECTION = {
    "amount": 49_900,
    "user_id": "user-7",
    "user_name": "Ravi Kumar",
    "email": "ravi.k@example.in",
    "mobile": "9123456780",
    "return_url": "https://shop.example.in/thanks",
}


def test_collection_create_answers_with_a_broken_field_are_reported_unknown_once(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = _merchant(gateway, "bad-answer-collections")
    orders = [f"BAD-CO-{i:03d}" for i in range(len(COLLECTION_CREATE))]
    for out_order_no, (kind, field) in zip(orders, COLLECTION_CREATE, strict=True):
        _bad(gateway, "beilypay", "/v2/payment/create", kind, field)
        answer = shop.http.post("/collections", json={"out_order_no": out_order_no, **COLLECTION})
        assert answer.status_code == 202, (kind, field, answer.text)  # unknown: the pay_url was lost
        assert answer.json()["status"] == "unknown"
    for out_order_no in orders:
        _check_transfer(gateway, shop, "collection", out_order_no, paid=False)
        again = shop.http.post("/collections", json={"out_order_no": out_order_no, **COLLECTION})
        assert again.status_code == 200, again.text  # never re-sent
        assert len(gateway.beilypay_orders(shop, out_order_no)) == 1
    FIGURES.assert_clean(start)


def test_collection_queries_with_a_broken_field_never_settle_and_the_poller_settles_once(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    shop = _merchant(gateway, "bad-answer-collection-queries")
    orders = [f"BAD-CQ-{i:03d}" for i in range(3)]
    pay_urls = {}
    for out_order_no in orders:
        created = shop.http.post("/collections", json={"out_order_no": out_order_no, **COLLECTION})
        assert created.status_code == 201, created.text
        pay_urls[out_order_no] = created.json()["pay_url"]
    gateway.fault("beilypay", scope="callback", kind="drop", count=len(orders))
    for kind, field in PAYMENT_QUERY:
        _bad(gateway, "beilypay", "/v2/payment/query", kind, field)
    for url in pay_urls.values():  # the payers pay; the notifies are lost
        assert gateway.beilypay.get(url).status_code == 200
    eventually(lambda: _pending_rules(gateway, "beilypay", "/v2/payment/query") == 0, timeout=SETTLE_S)
    for out_order_no in orders:
        ours = _check_transfer(gateway, shop, "collection", out_order_no, paid=True)
        if ours.get("paid") != COLLECTION["amount"]:
            FIGURES.violation("lost", f"collection {out_order_no} paid {ours.get('paid')}")
    FIGURES.assert_clean(start)


BALANCE: list[tuple[str, str]] = [
    ("missing_field", "data.settlementAmount"),
    ("missing_field", "data.sign,data.settlementAmount"),
    ("wrong_type", "data.sign,data.settlementAmount"),
    ("wrong_type", "data.sign,data.merchantId"),
    ("missing_field", "data"),
    ("wrong_type", "code"),
]


def test_balance_answers_with_a_broken_field_are_502_never_a_wrong_balance(gateway: Gateway) -> None:
    shop = _merchant(gateway, "bad-answer-balance")
    good = shop.http.get("/balance")
    assert good.status_code == 200, good.text
    for kind, field in BALANCE:
        _bad(gateway, "beilypay", "/merchant/accountInfo", kind, field)
        answer = shop.http.get("/balance")
        assert_error_shape(answer, 502)
        assert _pending_rules(gateway, "beilypay", "/merchant/accountInfo") == 0
    assert shop.http.get("/balance").json() == good.json()
