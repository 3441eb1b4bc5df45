"""Storage faults: DynamoDB Local is stopped in the middle of a load and started again.

Invariants: during the outage every request fails cleanly (a 5xx in the error JSON shape, never a
stack trace or API Gateway's bare 502); no partial order (a bill is one conditional item, a refund
and its reservation one transaction); the service recovers without restarting the stack; a
payment made during the outage is not lost (BeeCloud's webhook retries land once DynamoDB is back);
a merchant's retry of a failed request ends in exactly one order.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.reliability.support import (
    FIGURES,
    Gateway,
    assert_error_shape,
    bill_body,
    check_one_event,
    eventually,
    today,
)

LOAD = 90  # requests of the background load, bounded in count (and by the test's time)


def _clean(response: httpx.Response) -> str | None:
    """None if the answer is a success or a clean 5xx; else what is wrong with it."""
    if response.status_code < 300:
        return None
    try:
        assert_error_shape(response, 500, 502, 503, 504)
    except (AssertionError, ValueError) as error:
        return f"{response.status_code} {response.text[:200]} ({error})"
    if response.status_code == 500:
        return f"500 during a storage outage: {response.text[:200]}"
    return None


def test_dynamodb_outage_mid_load_fails_cleanly_loses_nothing_and_recovers(gateway: Gateway) -> None:
    start = FIGURES.checkpoint()
    assert gateway.stack.dynamodb is not None, "the suite's stack runs its own DynamoDB Local"
    shop = gateway.merchant("storage")
    waiting = [f"STOPAY{i:06d}" for i in range(6)]  # created before, paid during the outage
    for bill_no in [*waiting, "STOREF000001"]:
        assert shop.http.post("/bills", json=bill_body(bill_no, channel="UN_APP", total_fee=800)).status_code == 201
    assert gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/STOREF000001/pay").status_code == 200
    eventually(lambda: shop.http.get("/bills/STOREF000001").json()["status"] == "succeeded")

    outage = threading.Event()
    answers: list[tuple[str, dict[str, Any], httpx.Response, bool]] = []
    lock = threading.Lock()

    def load(i: int) -> None:
        body = bill_body(f"STOLOAD{i:05d}", total_fee=100 + i)
        try:
            response = shop.http.post("/bills", json=body) if i % 3 else shop.http.get("/bills", params={"limit": 5})
        except httpx.HTTPError as error:  # the API itself must always answer
            response = httpx.Response(599, text=f"transport: {error}")
        with lock:
            answers.append((body["bill_no"], body, response, outage.is_set()))

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(load, i) for i in range(LOAD)]
        eventually(lambda: len(answers) >= 15, timeout=60)
        gateway.stack.dynamodb.stop()
        FIGURES.add("faults_injected")
        outage.set()
        # While it is down: customers pay, merchants refund; both must fail cleanly or wait.
        for bill_no in waiting:
            assert gateway.beecloud.post(f"/_sandbox/bills/{shop.beecloud_app_id}/{bill_no}/pay").status_code == 200
        refused_refund_no = f"{today()}STO01"
        refund = shop.http.post(
            "/refunds", json={"refund_no": refused_refund_no, "bill_no": "STOREF000001", "refund_fee": 300}
        )
        assert_error_shape(refund, 502, 503, 504)
        during = eventually(lambda: sum(1 for *_, o in answers if o) >= 10 or None, timeout=60)
        assert during
        gateway.stack.dynamodb.start()
        outage.clear()
        for future in futures:
            future.result(timeout=120)

    problems = [f"{no}: {msg}" for no, _, response, _ in answers if (msg := _clean(response))]
    assert problems == [], problems
    assert any(r.status_code >= 500 for *_, r, o in answers if o), "the outage was not noticed"

    # Recovery without a restart: the next requests work.
    eventually(lambda: shop.http.post("/bills", json=bill_body("STOAFTER0001")).status_code == 201, timeout=30)

    # A merchant retries every create that failed: exactly one bill each, with its payment parameters.
    failed = {no: body for no, body, response, _ in answers if "total_fee" in body and response.status_code >= 300}
    deadline = time.monotonic() + 60
    for bill_no, body in failed.items():
        while True:
            retried = shop.http.post("/bills", json=body)
            if retried.status_code in (200, 201) or time.monotonic() > deadline:
                break
            assert_error_shape(retried, 409, 502, 503, 504)  # 409 request_in_progress: a lease still held
            time.sleep(0.5)
        assert retried.status_code in (200, 201), (bill_no, retried.text)
        assert retried.json()["payment"]
        FIGURES.add("orders_checked")

    # Payments made during the outage: BeeCloud's webhook retries settle them once.
    for bill_no in waiting:
        FIGURES.add("orders_checked")
        try:
            eventually(lambda b=bill_no: shop.http.get(f"/bills/{b}").json()["status"] == "succeeded", timeout=45)
        except AssertionError:
            FIGURES.violation("lost", f"{bill_no} paid during the outage, still pending")
            continue
        check_one_event(gateway, shop, "bill.succeeded", "bill_no", bill_no)

    # No partial refund: the failed refund left neither a refund item nor a reservation behind.
    bill = shop.http.get("/bills/STOREF000001").json()
    assert shop.http.get(f"/refunds/{refused_refund_no}").status_code == 404
    assert bill["refunded_fee"] == 0
    later = shop.http.post(
        "/refunds", json={"refund_no": f"{today()}STO02", "bill_no": "STOREF000001", "refund_fee": 300}
    )
    assert later.status_code == 201, later.text  # the bill was not left reserved
    FIGURES.add("orders_checked", 2)
    FIGURES.assert_clean(start)
