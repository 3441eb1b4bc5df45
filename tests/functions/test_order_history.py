"""What the console reads of an order's history after the real handlers ran: the provider's answer,
each notification (accepted or refused, and why), each status change and what made it (a callback,
a refresh, the poller, reconciliation), and each event EventBridge took, in the order they happened."""

from __future__ import annotations

import json
import time

import boto3
import httpx
import pytest

from bench.samples import payout_body
from paygate.clock import iso_from_ms, now_ms
from paygate.deps import order_history
from paygate.models import OrderKind
from paygate.providers.beilypay import sign
from tests.support.functions import (
    add_fault,
    api_event,
    beilypay_notify_event,
    body_of,
    invoke,
    pay_in_sandbox,
    webhook_event,
)


def _create_bill(merchant, bill_no="PAID00000001"):
    body = {"bill_no": bill_no, "channel": "WX_NATIVE", "total_fee": 100, "title": "白开水"}
    result = invoke("create_bill", api_event("POST", "/bills", body=body, headers={"Authorization": merchant.auth}))
    assert result["statusCode"] == 201, result["body"]


def _payout(merchant):
    result = invoke(
        "payout", api_event("POST", "/payouts", body=payout_body(), headers={"Authorization": merchant.auth})
    )
    assert result["statusCode"] in (201, 202), result["body"]
    return body_of(result)


def _timeline(app_id: str, kind: OrderKind, number: str) -> list[tuple[str, dict]]:
    return [(entry.what, entry.detail) for entry in order_history().entries(app_id, kind, number)]


def test_a_bills_history_tells_its_webhooks_its_payment_and_its_events(merchant, aws, beecloud_sandbox):
    _create_bill(merchant)
    payload = pay_in_sandbox(beecloud_sandbox.url, merchant, "PAID00000001")
    forged = payload | {"sign": "0" * 32, "signature": "0" * 32}

    statuses = [invoke("callback", webhook_event(merchant, body))["statusCode"] for body in (payload, payload, forged)]

    event_id = aws.published_events()[0]["detail"]["event_id"]
    published = ("event.published", {"event_type": "bill.succeeded", "event_id": event_id})
    assert statuses == [200, 200, 400]
    assert _timeline(merchant.app_id, OrderKind.BILL, "PAID00000001") == [
        ("provider.created", {}),
        ("callback.accepted", {"source": "beecloud", "outcome": "applied", "changed": True}),
        ("status.succeeded", {"by": "callback"}),
        published,
        ("callback.accepted", {"source": "beecloud", "outcome": "duplicate", "changed": False}),
        published,  # at least once, under the same id
        ("callback.refused", {"source": "beecloud", "reason": "signature_mismatch"}),
    ]


def test_a_webhook_for_a_bill_never_created_leaves_no_history(merchant, aws, beecloud_sandbox):
    _create_bill(merchant)
    payload = pay_in_sandbox(beecloud_sandbox.url, merchant, "PAID00000001")
    other = payload | {"transaction_id": "UNKNOWN00001", "transactionId": "UNKNOWN00001", "signature": "0" * 32}

    assert invoke("callback", webhook_event(merchant, other))["statusCode"] == 400

    assert _timeline(merchant.app_id, OrderKind.BILL, "UNKNOWN00001") == []


def test_a_payouts_history_tells_its_creation_its_notifies_and_its_event(beilypay, aws):
    payout = _payout(beilypay)
    notify = beilypay.notify_body(payout["provider_order_no"])
    underpaid = {k: v for k, v in notify.items() if k != "sign"} | {"payAmount": notify["payAmount"] - 1}
    underpaid |= {"sign": sign(underpaid, beilypay.beilypay_secret)}

    assert invoke("callback", beilypay_notify_event(beilypay, underpaid))["statusCode"] == 400
    assert invoke("callback", beilypay_notify_event(beilypay, notify))["statusCode"] == 200

    event_id = aws.published_events()[0]["detail"]["event_id"]
    assert _timeline(beilypay.app_id, OrderKind.PAYOUT, "PO-0001") == [
        ("provider.created", {"provider_order_no": payout["provider_order_no"]}),
        ("callback.refused", {"source": "beilypay", "reason": "amount_mismatch"}),
        ("callback.accepted", {"source": "beilypay", "outcome": "applied", "changed": True}),
        ("status.succeeded", {"by": "callback"}),
        ("event.published", {"event_type": "payout.succeeded", "event_id": event_id}),
    ]


def _pay_at_beecloud_webhook_lost(sandbox_url, merchant, bill_no):
    add_fault(sandbox_url, scope="callback", kind="drop", path=f"{merchant.beecloud_app_id}/PAY/")
    response = httpx.post(f"{sandbox_url}/_sandbox/bills/{merchant.beecloud_app_id}/{bill_no}/pay")
    assert response.status_code == 200, response.text


def test_a_bill_settled_by_a_refresh_says_so(merchant, aws, beecloud_sandbox, clean_faults):
    _create_bill(merchant, "REFRESH00001")
    _pay_at_beecloud_webhook_lost(beecloud_sandbox.url, merchant, "REFRESH00001")
    event = api_event(
        "POST",
        "/bills/REFRESH00001/refresh",
        resource="/bills/{bill_no}/refresh",
        path_params={"bill_no": "REFRESH00001"},
        headers={"Authorization": merchant.auth},
    )

    assert invoke("create_bill", event)["statusCode"] == 200

    timeline = _timeline(merchant.app_id, OrderKind.BILL, "REFRESH00001")
    assert [what for what, _ in timeline] == ["provider.created", "status.succeeded", "event.published"]
    assert timeline[1][1] == {"by": "refresh"}


@pytest.mark.clock  # the reconciliation window is around now
def test_a_bill_settled_by_reconciliation_says_so(merchant, aws, beecloud_sandbox, clean_faults):
    _create_bill(merchant, "RECPAY000001")
    _pay_at_beecloud_webhook_lost(beecloud_sandbox.url, merchant, "RECPAY000001")
    now = now_ms()

    report = invoke("reconcile", {"app_id": merchant.app_id, "from": iso_from_ms(now - 3_600_000),
                                  "to": iso_from_ms(now + 60_000)})  # fmt: skip

    assert [fix["order_no"] for fix in report["fixes"]] == ["RECPAY000001"]
    timeline = _timeline(merchant.app_id, OrderKind.BILL, "RECPAY000001")
    assert [what for what, _ in timeline] == ["provider.created", "status.succeeded", "event.published"]
    assert timeline[1][1] == {"by": "reconciliation"}


def test_a_payout_settled_by_the_poller_says_so(beilypay, aws):
    payout = _payout(beilypay)
    deadline = time.monotonic() + 5
    while beilypay.sandbox_order("PO-0001")["status"] == 1:  # BeilyPay finishes it; its notify is not fed to us
        assert time.monotonic() < deadline
        time.sleep(0.02)
    (execution,) = beilypay.executions()
    state = json.loads(
        boto3.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])["input"]
    )

    assert invoke("poll_pending", state)["outcome"] == "final"

    event_id = aws.published_events()[0]["detail"]["event_id"]
    assert _timeline(beilypay.app_id, OrderKind.PAYOUT, "PO-0001") == [
        ("provider.created", {"provider_order_no": payout["provider_order_no"]}),
        ("status.succeeded", {"by": "poller"}),
        ("event.published", {"event_type": "payout.succeeded", "event_id": event_id}),
    ]
