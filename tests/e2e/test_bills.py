"""The README's promise, over real sockets: create -> pay in the sandbox -> webhook -> paid + one event;
refund -> REFUND webhook -> refunded + one event; bad input -> clear 4xx and nothing written."""

from __future__ import annotations

import concurrent.futures

import httpx
import pytest

from tests.support.clock import refund_no, today_in_china
from tests.support.polling import eventually

pytestmark = pytest.mark.clock  # dates: run under shifted clocks by `make test-clock`


def _bill(bill_no, channel="WX_NATIVE", total_fee=100, **extra):
    return {"bill_no": bill_no, "channel": channel, "total_fee": total_fee, "title": "白开水", **extra}


def test_pay_a_wechat_bill_through_the_sandbox_link(gateway):
    shop = gateway.merchant()
    created = shop.http.post("/bills", json=_bill("E2EPAY000001"))
    assert created.status_code == 201, created.text
    code_url = created.json()["payment"]["code_url"]

    assert httpx.get(code_url).status_code == 200  # the customer scans and pays

    paid = eventually(lambda: (b := shop.http.get("/bills/E2EPAY000001").json())["status"] == "succeeded" and b)
    assert paid["paid_at"]
    events = eventually(lambda: gateway.events("bill.succeeded", shop.app_id))
    assert len(events) == 1
    assert events[0]["detail"]["data"]["bill_no"] == "E2EPAY000001"
    assert events[0]["source"] == "paygate"


def test_refund_a_paid_bill_and_see_one_refund_event(gateway):
    shop = gateway.merchant()
    created = shop.http.post("/bills", json=_bill("E2EREF000001", channel="UN_APP", total_fee=800))
    httpx.get(f"{gateway.info.beecloud_url}/pay/{shop.beecloud_app_id}/E2EREF000001")
    eventually(lambda: shop.http.get("/bills/E2EREF000001").json()["status"] == "succeeded")
    assert created.status_code == 201

    number = refund_no("001")
    refund = shop.http.post("/refunds", json={"refund_no": number, "bill_no": "E2EREF000001", "refund_fee": 300})
    assert refund.status_code == 201, refund.text
    settled = eventually(lambda: (r := shop.http.get(f"/refunds/{number}").json())["status"] == "succeeded" and r)
    assert settled["refund_fee"] == 300
    assert shop.http.get("/bills/E2EREF000001").json()["refunded_fee"] == 300
    events = eventually(lambda: gateway.events("refund.succeeded", shop.app_id))
    assert [e["detail"]["data"]["refund_no"] for e in events] == [number]


def test_bad_input_gets_a_clear_4xx_and_writes_nothing(gateway):
    shop = gateway.merchant()
    bad = shop.http.post("/bills", json=_bill("E2EBAD000001", total_fee=-5))
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_request"
    assert shop.http.get("/bills/E2EBAD000001").status_code == 404
    no_key = httpx.post(f"{gateway.info.api_url}/bills", json=_bill("E2EBAD000002"))
    assert no_key.status_code == 401
    unknown_route = shop.http.get("/nowhere")
    assert unknown_route.status_code == 403  # API Gateway's answer for a route it does not have


def test_concurrent_identical_bills_make_one_bill_and_identical_bodies(gateway):
    shop = gateway.merchant()
    body = _bill("E2ERACE00001", total_fee=4200)
    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(lambda _: shop.http.post("/bills", json=body), range(12)))
    assert sorted({r.status_code for r in responses}) in ([200, 201], [201])
    assert [r.status_code for r in responses].count(201) == 1
    assert len({r.text for r in responses}) == 1  # the repeats waited for the first call's answer
    listed = shop.http.get("/bills", params={"limit": 50}).json()["data"]
    assert [b["bill_no"] for b in listed] == ["E2ERACE00001"]


def test_concurrent_refunds_never_exceed_the_bill(gateway):
    shop = gateway.merchant()
    shop.http.post("/bills", json=_bill("E2ECREF00001", total_fee=1000))
    httpx.get(f"{gateway.info.beecloud_url}/pay/{shop.beecloud_app_id}/E2ECREF00001")
    eventually(lambda: shop.http.get("/bills/E2ECREF00001").json()["status"] == "succeeded")

    day = today_in_china()

    def refund(i):
        return shop.http.post(
            "/refunds", json={"refund_no": f"{day}{i:03d}", "bill_no": "E2ECREF00001", "refund_fee": 600}
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(refund, range(100, 110)))
    assert [r.status_code for r in responses].count(201) == 1, [r.text for r in responses]
    assert all(r.status_code == 409 for r in responses if r.status_code != 201)
    eventually(lambda: shop.http.get("/bills/E2ECREF00001").json()["refunded_fee"] == 600)


def test_one_tenant_never_sees_another(gateway):
    alice, bob = gateway.merchant("alice"), gateway.merchant("bob")
    alice.http.post("/bills", json=_bill("E2ETENANT001"))
    assert bob.http.get("/bills/E2ETENANT001").status_code == 404
    assert bob.http.get("/bills").json()["data"] == []
    assert (
        bob.http.post(
            "/refunds", json={"refund_no": refund_no("001"), "bill_no": "E2ETENANT001", "refund_fee": 1}
        ).status_code
        == 404
    )
