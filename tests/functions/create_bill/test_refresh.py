"""POST /bills/{bill_no}/refresh: a bill paid at BeeCloud whose webhook was lost, settled on demand."""

from __future__ import annotations

import boto3
import httpx

from tests.support.functions import add_fault, api_event, body_of, invoke, sandbox_webhook, webhook_event


def _create(merchant, bill_no, total_fee=100):
    body = {"bill_no": bill_no, "channel": "WX_NATIVE", "total_fee": total_fee, "title": "白开水"}
    result = invoke("create_bill", api_event("POST", "/bills", body=body, headers={"Authorization": merchant.auth}))
    assert result["statusCode"] == 201, result["body"]


def _pay_at_beecloud(sandbox_url, merchant, bill_no):
    """The payer pays; the sandbox's webhook is never fed to paygate (it is lost)."""
    response = httpx.post(f"{sandbox_url}/_sandbox/bills/{merchant.beecloud_app_id}/{bill_no}/pay")
    assert response.status_code == 200, response.text


def _refresh(merchant, bill_no):
    return invoke(
        "create_bill",
        api_event(
            "POST",
            f"/bills/{bill_no}/refresh",
            resource="/bills/{bill_no}/refresh",
            path_params={"bill_no": bill_no},
            headers={"Authorization": merchant.auth},
        ),
    )


def _stored(merchant, bill_no):
    key = {"pk": {"S": f"BILL#{merchant.app_id}#{bill_no}"}}
    return boto3.client("dynamodb").get_item(TableName="orders", Key=key)["Item"]


def _of_type(events, detail_type):
    return [e for e in events if e["detail-type"] == detail_type]


def test_a_paid_bill_whose_webhook_was_lost_is_settled_by_refresh_with_the_webhooks_event(
    merchant, aws, beecloud_sandbox
):
    _create(merchant, "REFRESH00001")
    _pay_at_beecloud(beecloud_sandbox.url, merchant, "REFRESH00001")
    assert _stored(merchant, "REFRESH00001")["status"]["S"] == "pending"

    result = _refresh(merchant, "REFRESH00001")

    assert result["statusCode"] == 200, result["body"]
    bill = body_of(result)
    assert (bill["status"], bill["total_fee"]) == ("succeeded", 100)
    assert bill["paid_at"]
    (event,) = _of_type(aws.published_events(), "bill.succeeded")
    assert event["detail"]["data"]["status"] == "succeeded"
    stored = _stored(merchant, "REFRESH00001")
    assert stored["reconciled_by"]["M"]["by"]["S"] == "refresh"  # BeeCloud's record, kept as evidence
    # The lost webhook arriving late is a duplicate: acknowledged, same event id, no second transition.
    late = sandbox_webhook(beecloud_sandbox.url, merchant, "PAY", "REFRESH00001")
    assert invoke("callback", webhook_event(merchant, late))["body"] == "success"
    again = _of_type(aws.published_events(), "bill.succeeded")
    assert {e["detail"]["event_id"] for e in again} == {event["detail"]["event_id"]}
    assert _stored(merchant, "REFRESH00001")["paid_at_ms"] == stored["paid_at_ms"]


def test_an_unpaid_bill_stays_pending_and_publishes_nothing(merchant, aws):
    _create(merchant, "REFRESH00002")
    aws.published_events()

    result = _refresh(merchant, "REFRESH00002")

    assert result["statusCode"] == 200, result["body"]
    assert body_of(result)["status"] == "pending"
    assert body_of(result)["payment"]["code_url"]
    assert _stored(merchant, "REFRESH00002")["status"]["S"] == "pending"
    assert aws.published_events() == []


def test_another_apps_bill_is_a_404_like_a_missing_one(merchant, aws, beecloud_sandbox):
    from paygate.apps.admin import create_app

    _create(merchant, "REFRESH00003")
    _pay_at_beecloud(beecloud_sandbox.url, merchant, "REFRESH00003")
    _, other_key, _ = create_app("other", beecloud=None, beilypay=None)
    other = type("Other", (), {"auth": f"Bearer {other_key}"})()

    theirs, missing = _refresh(other, "REFRESH00003"), _refresh(merchant, "NOSUCHBILL01")

    assert (theirs["statusCode"], body_of(theirs)["error"]["code"]) == (404, "bill_not_found")
    assert (missing["statusCode"], body_of(missing)["error"]["code"]) == (404, "bill_not_found")
    assert _stored(merchant, "REFRESH00003")["status"]["S"] == "pending"
    assert _of_type(aws.published_events(), "bill.succeeded") == []


def test_a_provider_amount_that_differs_from_the_ledger_is_not_settled_and_is_reported(merchant, aws, beecloud_sandbox):
    _create(merchant, "REFRESH00004", total_fee=999)
    _pay_at_beecloud(beecloud_sandbox.url, merchant, "REFRESH00004")
    # The ledger and BeeCloud disagree: BeeCloud was paid 999 fen, the ledger expects 1000.
    boto3.client("dynamodb").update_item(
        TableName="orders",
        Key={"pk": {"S": f"BILL#{merchant.app_id}#REFRESH00004"}},
        UpdateExpression="SET total_fee = :fee",
        ExpressionAttributeValues={":fee": {"N": "1000"}},
    )
    aws.published_events()

    result = _refresh(merchant, "REFRESH00004")

    assert (result["statusCode"], body_of(result)["error"]["code"]) == (409, "provider_mismatch")
    assert _stored(merchant, "REFRESH00004")["status"]["S"] == "pending"
    events = aws.published_events()
    assert _of_type(events, "bill.succeeded") == []
    (report,) = _of_type(events, "reconciliation.mismatch")
    data = report["detail"]["data"]
    assert (data["kind"], data["order_no"], data["found_by"]) == ("amount_differs", "REFRESH00004", "refresh")
    assert (data["ledger_amount"], data["provider_amount"]) == (1000, 999)


def test_a_final_bill_is_answered_from_the_ledger_without_asking_beecloud(
    merchant, aws, beecloud_sandbox, clean_faults
):
    _create(merchant, "REFRESH00005")
    _pay_at_beecloud(beecloud_sandbox.url, merchant, "REFRESH00005")
    webhook = sandbox_webhook(beecloud_sandbox.url, merchant, "PAY", "REFRESH00005")
    assert invoke("callback", webhook_event(merchant, webhook))["body"] == "success"
    aws.published_events()
    # Any bill query now would fail: the answer must come from the ledger alone.
    add_fault(clean_faults, scope="request", kind="error", path="/1/rest/bills", count=10, status=500)

    result = _refresh(merchant, "REFRESH00005")

    assert result["statusCode"] == 200, result["body"]
    assert body_of(result)["status"] == "succeeded"
    (fault,) = httpx.get(f"{clean_faults}/_sandbox/faults").json()["faults"]
    assert fault["count"] == 10  # untouched
    assert aws.published_events() == []  # the webhook published it; nothing to repeat


def test_a_refresh_whose_publish_failed_publishes_again_when_asked_again(merchant, aws, beecloud_sandbox, monkeypatch):
    from tests.support.functions import BUS, clear_container_caches

    _create(merchant, "REFRESH00006")
    _pay_at_beecloud(beecloud_sandbox.url, merchant, "REFRESH00006")
    aws.published_events()
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")  # EventBridge refuses after the write
    clear_container_caches()

    failed = _refresh(merchant, "REFRESH00006")

    assert failed["statusCode"] >= 500
    assert _stored(merchant, "REFRESH00006")["status"]["S"] == "succeeded"
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    clear_container_caches()
    again = _refresh(merchant, "REFRESH00006")
    assert (again["statusCode"], body_of(again)["status"]) == (200, "succeeded")
    (event,) = _of_type(aws.published_events(), "bill.succeeded")
    assert event["detail"]["data"]["bill_no"] == "REFRESH00006"
