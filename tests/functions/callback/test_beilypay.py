"""BeilyPay notifies fed to the callback handler: the sandbox's real signed bodies, and forgeries."""

from __future__ import annotations

import boto3
import httpx
import pytest

from bench.samples import collection_body, payout_body
from paygate.providers.beilypay import sign
from tests.support.functions import api_event, beilypay_notify_event, body_of, invoke


def _payout(merchant, **overrides):
    body = payout_body(**overrides)
    result = invoke("payout", api_event("POST", "/payouts", body=body, headers={"Authorization": merchant.auth}))
    assert result["statusCode"] in (201, 202), result["body"]
    return body_of(result)


def _collection(merchant, **overrides):
    body = collection_body(**overrides)
    result = invoke("collect", api_event("POST", "/collections", body=body, headers={"Authorization": merchant.auth}))
    assert result["statusCode"] in (201, 202), result["body"]
    return body_of(result)


def _item(merchant, kind, out_order_no):
    key = {"pk": {"S": f"{kind.upper()}#{merchant.app_id}#{out_order_no}"}}
    return boto3.client("dynamodb").get_item(TableName="orders", Key=key)["Item"]


def _resigned(merchant, payload, **changes):
    forged = {k: v for k, v in payload.items() if k != "sign"} | changes
    return forged | {"sign": sign(forged, merchant.beilypay_secret)}


def test_a_payout_notify_settles_the_payout_and_publishes_one_event(beilypay, aws):
    payout = _payout(beilypay)
    notify = beilypay.notify_body(payout["provider_order_no"])

    result = invoke("callback", beilypay_notify_event(beilypay, notify))

    assert result["statusCode"] == 200
    assert "SUCC" in result["body"]
    assert _item(beilypay, "payout", "PO-0001")["status"]["S"] == "succeeded"
    events = aws.published_events()
    assert [e["detail-type"] for e in events] == ["payout.succeeded"]
    detail = events[0]["detail"]
    assert (detail["app_id"], detail["type"], detail["version"]) == (beilypay.app_id, "payout.succeeded", "1")
    assert detail["data"]["out_order_no"] == "PO-0001"
    assert detail["data"]["provider_order_no"] == payout["provider_order_no"]


def test_a_settling_notify_stops_the_orders_poller(beilypay, aws):
    payout = _payout(beilypay)
    (execution,) = beilypay.executions()
    assert execution["status"] == "RUNNING"

    invoke("callback", beilypay_notify_event(beilypay, beilypay.notify_body(payout["provider_order_no"])))

    (execution,) = beilypay.executions()
    assert execution["status"] == "ABORTED"  # no further poll rounds: 3 transitions each


def test_a_notify_is_acknowledged_even_if_its_poller_cannot_be_stopped(beilypay, aws, monkeypatch):
    from botocore.exceptions import ClientError

    from paygate import deps

    payout = _payout(beilypay)

    def refuse(**_kwargs):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "StopExecution")

    monkeypatch.setattr(deps.poller_starter()._sfn, "stop_execution", refuse)
    result = invoke("callback", beilypay_notify_event(beilypay, beilypay.notify_body(payout["provider_order_no"])))

    assert "SUCC" in result["body"]
    assert _item(beilypay, "payout", "PO-0001")["status"]["S"] == "succeeded"
    (execution,) = beilypay.executions()
    assert execution["status"] == "RUNNING"  # its next round finds the payout final and ends


def test_a_failed_payout_notify_fails_the_payout(beilypay, aws):
    payout = _payout(beilypay, account="123456780000")  # the sandbox fails accounts ending 0000
    notify = beilypay.notify_body(payout["provider_order_no"])

    result = invoke("callback", beilypay_notify_event(beilypay, notify))

    assert "SUCC" in result["body"]
    item = _item(beilypay, "payout", "PO-0001")
    assert (item["status"]["S"], item["failure_code"]["S"]) == ("failed", "payout_failed")
    assert [e["detail-type"] for e in aws.published_events()] == ["payout.failed"]


def test_duplicate_notifies_transition_once_and_publish_one_event(beilypay, aws):
    payout = _payout(beilypay)
    notify = beilypay.notify_body(payout["provider_order_no"])
    invoke("callback", beilypay_notify_event(beilypay, notify))
    finished = _item(beilypay, "payout", "PO-0001")["finished_at_ms"]

    results = [invoke("callback", beilypay_notify_event(beilypay, notify)) for _ in range(3)]

    assert all("SUCC" in r["body"] for r in results)
    assert _item(beilypay, "payout", "PO-0001")["finished_at_ms"] == finished
    assert [e["detail-type"] for e in aws.published_events()] == ["payout.succeeded"]


def test_a_notify_contradicting_the_stored_outcome_is_rejected(beilypay, aws):
    payout = _payout(beilypay)
    notify = beilypay.notify_body(payout["provider_order_no"])
    invoke("callback", beilypay_notify_event(beilypay, notify))
    aws.published_events()

    result = invoke("callback", beilypay_notify_event(beilypay, _resigned(beilypay, notify, status=3)))

    assert result["statusCode"] == 400
    assert _item(beilypay, "payout", "PO-0001")["status"]["S"] == "succeeded"
    assert aws.published_events() == []


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda m, p: p | {"sign": "0" * 32}, id="forged-sign"),
        pytest.param(lambda m, p: {k: v for k, v in p.items() if k != "sign"}, id="unsigned"),
        pytest.param(lambda m, p: p | {"payAmount": p["payAmount"] - 1}, id="amount-changed-under-the-old-sign"),
        pytest.param(lambda m, p: _resigned(m, p, payAmount=p["payAmount"] - 1), id="amount-mismatch"),
        pytest.param(lambda m, p: _resigned(m, p, orderNo="999999999999999999"), id="other-beilypay-order"),
        pytest.param(lambda m, p: _resigned(m, p, outOrderNo="PO-UNKNOWN"), id="unknown-order"),
        pytest.param(lambda m, p: _resigned(m, p, appId=p["appId"] + 1), id="other-beilypay-app"),
        pytest.param(
            lambda m, p: {k: v for k, v in p.items() if k != "sign"} | {"sign": sign(p, "not-the-secret")},
            id="signed-with-another-secret",
        ),
    ],
)
def test_forged_or_mismatched_notifies_change_nothing(beilypay, aws, tamper):
    payout = _payout(beilypay, account="123456789999")  # stays pending at BeilyPay
    httpx.post(f"{beilypay.sandbox_url}/_sandbox/payouts/{payout['provider_order_no']}/complete", json={"status": 2})
    notify = beilypay.notify_body(payout["provider_order_no"])

    result = invoke("callback", beilypay_notify_event(beilypay, tamper(beilypay, dict(notify))))

    assert result["statusCode"] == 400
    assert "SUCC" not in result["body"]
    assert _item(beilypay, "payout", "PO-0001")["status"]["S"] == "pending"
    assert aws.published_events() == []


def test_a_notify_on_another_apps_url_is_rejected(beilypay, aws):
    from paygate.apps.admin import BeilyPayAccount, create_app

    other, _, _ = create_app("other", beecloud=None, beilypay=BeilyPayAccount(77, 78, "another-secret"))
    payout = _payout(beilypay)
    notify = beilypay.notify_body(payout["provider_order_no"])
    event = beilypay_notify_event(beilypay, notify)
    event.update(path=f"/callbacks/beilypay/{other.app_id}", pathParameters={"app_id": other.app_id})

    result = invoke("callback", event)

    assert result["statusCode"] == 400
    assert _item(beilypay, "payout", "PO-0001")["status"]["S"] == "pending"


@pytest.mark.parametrize("body", ["not json", "[1, 2]", ""])
def test_unreadable_notifies_are_rejected(beilypay, aws, body):
    result = invoke("callback", beilypay_notify_event(beilypay, body))
    assert result["statusCode"] in (400, 415)
    assert "SUCC" not in result["body"]


def test_a_notify_settles_a_payout_whose_create_answer_was_lost(beilypay, aws, beilypay_faults):
    httpx.post(
        f"{beilypay_faults}/_sandbox/faults",
        json={"scope": "request", "kind": "hang", "process": True, "path": "/v2/trans/create", "delay_s": 10},
    )
    assert _payout(beilypay)["status"] == "unknown"
    order_no = beilypay.sandbox_order("PO-0001")["orderNo"]
    notify = beilypay.notify_body(order_no)

    result = invoke("callback", beilypay_notify_event(beilypay, notify))

    assert "SUCC" in result["body"]
    item = _item(beilypay, "payout", "PO-0001")
    assert (item["status"]["S"], item["provider_order_no"]["S"]) == ("succeeded", order_no)
    assert [e["detail-type"] for e in aws.published_events()] == ["payout.unknown", "payout.succeeded"]


def test_a_notify_cannot_revive_a_payout_beilypay_refused(beilypay, aws, beilypay_faults):
    httpx.post(
        f"{beilypay_faults}/_sandbox/faults",
        json={"scope": "request", "kind": "code", "status": 10012, "path": "/v2/trans/create"},
    )
    invoke("payout", api_event("POST", "/payouts", body=payout_body(), headers={"Authorization": beilypay.auth}))
    aws.published_events()
    forged = {
        "appId": beilypay.beilypay_app_id,
        "merchantId": beilypay.beilypay_merchant_id,
        "outOrderNo": "PO-0001",
        "orderNo": "261125123000000001",
        "payAmount": 150_000,
        "status": 2,
        "payTime": "2026-11-25T10:00:01",
    }
    forged["sign"] = sign(forged, beilypay.beilypay_secret)

    result = invoke("callback", beilypay_notify_event(beilypay, forged))

    assert result["statusCode"] == 400
    assert _item(beilypay, "payout", "PO-0001")["status"]["S"] == "failed"
    assert aws.published_events() == []


def test_a_paid_collection_records_what_the_payer_paid(beilypay, aws):
    collection = _collection(beilypay)
    assert collection["pay_url"]
    page = httpx.get(collection["pay_url"])  # the customer opens the pay page: the sandbox marks it paid
    assert page.status_code == 200
    notify = beilypay.notify_body(collection["provider_order_no"])

    result = invoke("callback", beilypay_notify_event(beilypay, notify))

    assert "SUCC" in result["body"]
    item = _item(beilypay, "collection", "CO-0001")
    assert (item["status"]["S"], int(item["paid"]["N"])) == ("succeeded", 49_900)
    events = aws.published_events()
    assert [e["detail-type"] for e in events] == ["collection.succeeded"]
    assert events[0]["detail"]["data"]["paid"] == 49_900
    assert "pay_url" not in events[0]["detail"]["data"]


def test_an_underpaid_collection_is_recorded_with_the_paid_amount(beilypay, aws):
    collection = _collection(beilypay)
    order_no = collection["provider_order_no"]
    httpx.post(f"{beilypay.sandbox_url}/_sandbox/collections/{order_no}/complete", json={"status": 2, "paid": 40_000})

    result = invoke("callback", beilypay_notify_event(beilypay, beilypay.notify_body(order_no)))

    assert "SUCC" in result["body"]
    item = _item(beilypay, "collection", "CO-0001")
    assert (item["status"]["S"], int(item["paid"]["N"]), int(item["amount"]["N"])) == ("succeeded", 40_000, 49_900)


def test_a_failed_collection_notify_fails_the_collection(beilypay, aws):
    order_no = _collection(beilypay)["provider_order_no"]
    httpx.post(f"{beilypay.sandbox_url}/_sandbox/collections/{order_no}/complete", json={"status": 3})

    result = invoke("callback", beilypay_notify_event(beilypay, beilypay.notify_body(order_no)))

    assert "SUCC" in result["body"]
    assert _item(beilypay, "collection", "CO-0001")["status"]["S"] == "failed"
    assert [e["detail-type"] for e in aws.published_events()] == ["collection.failed"]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"paid": 0}, id="success-paying-nothing"),
        pytest.param({"orderNo": "999999999999999999"}, id="other-order"),
        pytest.param({"outOrderNo": "CO-UNKNOWN"}, id="unknown-collection"),
    ],
)
def test_mismatched_collection_notifies_change_nothing(beilypay, aws, changes):
    order_no = _collection(beilypay)["provider_order_no"]
    httpx.post(f"{beilypay.sandbox_url}/_sandbox/collections/{order_no}/complete", json={"status": 2})
    notify = beilypay.notify_body(order_no)

    result = invoke("callback", beilypay_notify_event(beilypay, _resigned(beilypay, notify, **changes)))

    assert result["statusCode"] == 400
    assert _item(beilypay, "collection", "CO-0001")["status"]["S"] == "pending"
    assert aws.published_events() == []
