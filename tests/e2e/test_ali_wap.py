"""An Alipay mobile-web (ALI_WAP) bill end to end on the local stack: created through the API,
paid through the sandbox's page the way a phone's browser submits Alipay's form, settled by the
webhook, refunded, and reconciled against BeeCloud's listings."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest

from tests.support.clock import refund_no
from tests.support.gateway import last_hour
from tests.support.polling import eventually

pytestmark = pytest.mark.clock  # refund_no carries today's date: run under shifted clocks too


def _submit(form_html: str) -> httpx.Response:
    """What the payer's browser does with BeeCloud's auto-submitting form: send its fields to its action."""
    action = re.search(r'<form [^>]*action="([^"]+)"[^>]*method="get"', form_html)
    assert action, form_html
    fields = {unescape(n): unescape(v) for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', form_html)}
    return httpx.get(unescape(action.group(1)), params=fields)


def _wap_bill(bill_no: str, total_fee: int) -> dict[str, object]:
    return {"bill_no": bill_no, "channel": "ALI_WAP", "total_fee": total_fee, "title": "白开水", "use_app": True}


def test_an_ali_wap_bill_is_paid_settled_refunded_and_reconciled(gateway):
    shop = gateway.merchant("wap-shop")

    created = shop.http.post("/bills", json=_wap_bill("E2EALIWAP001", 1000))
    assert created.status_code == 201, created.text
    payment = created.json()["payment"]
    assert payment["url"].startswith(gateway.info.beecloud_url)
    assert 'name="app_pay" value="Y"' in payment["html"]  # use_app reached BeeCloud

    assert _submit(payment["html"]).status_code == 200  # the payer's phone submits Alipay's form

    paid = eventually(lambda: (b := shop.http.get("/bills/E2EALIWAP001").json())["status"] == "succeeded" and b)
    assert (paid["channel"], paid["total_fee"]) == ("ALI_WAP", 1000)
    events = eventually(lambda: gateway.events("bill.succeeded", shop.app_id))
    assert [(e["detail"]["data"]["bill_no"], e["detail"]["data"]["channel"]) for e in events] == [
        ("E2EALIWAP001", "ALI_WAP")
    ]

    number = refund_no("001")
    refund = shop.http.post("/refunds", json={"refund_no": number, "bill_no": "E2EALIWAP001", "refund_fee": 400})
    assert refund.status_code == 201, refund.text
    assert refund.json()["channel"] == "ALI_WAP"
    assert refund.json()["approval_url"]  # an Alipay refund: the merchant confirms it on Alipay's page
    settled = eventually(lambda: (r := shop.http.get(f"/refunds/{number}").json())["status"] == "succeeded" and r)
    assert settled["refund_fee"] == 400
    assert shop.http.get("/bills/E2EALIWAP001").json()["refunded_fee"] == 400
    refunded = eventually(lambda: gateway.events("refund.succeeded", shop.app_id))
    assert [e["detail"]["data"]["refund_no"] for e in refunded] == [number]

    # A second ALI_WAP bill whose webhook is lost: only reconciliation can settle it.
    rule = {"scope": "callback", "kind": "drop", "path": f"{shop.beecloud_app_id}/PAY/E2EALIWAP002"}
    assert httpx.post(f"{gateway.info.beecloud_url}/_sandbox/faults", json=rule).status_code == 201
    lost = shop.http.post("/bills", json=_wap_bill("E2EALIWAP002", 250))
    assert lost.status_code == 201, lost.text
    assert httpx.get(lost.json()["payment"]["url"]).status_code == 200
    ref = f"{shop.beecloud_app_id}/PAY/E2EALIWAP002"
    eventually(
        lambda: httpx.get(f"{gateway.info.beecloud_url}/_sandbox/notifications", params={"ref": ref}).json()["attempts"]
    )
    assert shop.http.get("/bills/E2EALIWAP002").json()["status"] == "pending"

    report = gateway.reconcile({"app_id": shop.app_id, **last_hour()})

    # BeeCloud lists both bills and the refund under ALI / ALI_WAP: the paid and refunded one
    # matches the ledger, the one whose webhook was lost is settled with BeeCloud's record as evidence.
    assert [(f["order_no"], f["from_status"], f["to_status"]) for f in report["fixes"]] == [
        ("E2EALIWAP002", "pending", "succeeded")
    ]
    assert report["fixes"][0]["evidence"]["record"]["channel"] == "ALI_WAP"
    assert (report["mismatches"], report["errors"]) == ([], [])
    assert shop.http.get("/bills/E2EALIWAP002").json()["status"] == "succeeded"
    assert shop.http.get("/bills/E2EALIWAP001").json()["refunded_fee"] == 400
