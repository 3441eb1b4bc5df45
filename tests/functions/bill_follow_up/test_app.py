"""BillFollowUp: the delayed follow-ups CreateBill queues settle a bill whose webhook was lost."""

from __future__ import annotations

import json

import boto3
import httpx
import pytest

from tests.support.functions import add_fault, api_event, body_of, invoke, sandbox_webhook, webhook_event


def _create(merchant, bill_no):
    body = {"bill_no": bill_no, "channel": "ALI_APP", "total_fee": 250, "title": "白开水"}
    result = invoke("create_bill", api_event("POST", "/bills", body=body, headers={"Authorization": merchant.auth}))
    assert result["statusCode"] == 201, result["body"]
    return body_of(result)


def _pay_at_beecloud(sandbox_url, merchant, bill_no):
    """The payer pays; the sandbox's webhook is never fed to paygate (it is lost)."""
    response = httpx.post(f"{sandbox_url}/_sandbox/bills/{merchant.beecloud_app_id}/{bill_no}/pay")
    assert response.status_code == 200, response.text


def _follow_up(queue, *, app_id, bill_no, attempt):
    """A follow-up message as CreateBill or BillFollowUp queues it, sent without delay."""
    body = json.dumps({"kind": "bill_follow_up", "app_id": app_id, "bill_no": bill_no, "attempt": attempt})
    boto3.client("sqs").send_message(QueueUrl=queue.url, MessageBody=body)
    return queue.receive()


def _status(merchant, bill_no):
    key = {"pk": {"S": f"BILL#{merchant.app_id}#{bill_no}"}}
    return boto3.client("dynamodb").get_item(TableName="orders", Key=key)["Item"]["status"]["S"]


def _run(queue, messages):
    return invoke("bill_follow_up", queue.sqs_event(messages))


def test_creating_a_bill_queues_one_delayed_follow_up_that_settles_it(merchant, aws, beecloud_sandbox, follow_up_queue):
    _create(merchant, "FOLLOWUP0001")
    assert sum(follow_up_queue.attributes().values()) == 1
    _pay_at_beecloud(beecloud_sandbox.url, merchant, "FOLLOWUP0001")

    (message,) = follow_up_queue.receive()
    assert json.loads(message["Body"]) == {
        "kind": "bill_follow_up",
        "app_id": merchant.app_id,
        "bill_no": "FOLLOWUP0001",
        "attempt": 1,
    }
    result = _run(follow_up_queue, [message])

    assert result == {"batchItemFailures": []}
    assert _status(merchant, "FOLLOWUP0001") == "succeeded"
    (event,) = [e for e in aws.published_events() if e["detail-type"] == "bill.succeeded"]
    assert event["detail"]["data"]["bill_no"] == "FOLLOWUP0001"
    assert follow_up_queue.attributes() == {"ApproximateNumberOfMessages": 0, "ApproximateNumberOfMessagesDelayed": 0}


def test_a_pending_bill_gets_at_most_three_attempts_at_growing_delays(merchant, aws, follow_up_queue):
    bill = _create(merchant, "FOLLOWUP0002")
    (first,) = follow_up_queue.receive()

    assert _run(follow_up_queue, [first]) == {"batchItemFailures": []}
    (second,) = follow_up_queue.receive()
    assert json.loads(second["Body"])["attempt"] == 2
    assert _run(follow_up_queue, [second]) == {"batchItemFailures": []}
    (third,) = follow_up_queue.receive()
    assert json.loads(third["Body"])["attempt"] == 3
    assert _run(follow_up_queue, [third]) == {"batchItemFailures": []}

    # The last attempt queues nothing: the daily reconciliation settles or reports the bill.
    assert follow_up_queue.attributes() == {"ApproximateNumberOfMessages": 0, "ApproximateNumberOfMessagesDelayed": 0}
    assert _status(merchant, "FOLLOWUP0002") == bill["status"] == "pending"
    assert aws.published_events() == []


def test_a_final_bill_costs_no_provider_call_and_no_further_follow_up(
    merchant, aws, beecloud_sandbox, follow_up_queue, clean_faults
):
    _create(merchant, "FOLLOWUP0003")
    follow_up_queue.receive()
    _pay_at_beecloud(beecloud_sandbox.url, merchant, "FOLLOWUP0003")
    webhook = sandbox_webhook(beecloud_sandbox.url, merchant, "PAY", "FOLLOWUP0003")
    assert invoke("callback", webhook_event(merchant, webhook))["body"] == "success"
    aws.published_events()
    add_fault(clean_faults, scope="request", kind="error", path="/1/rest/bills", count=10, status=500)

    messages = _follow_up(follow_up_queue, app_id=merchant.app_id, bill_no="FOLLOWUP0003", attempt=1)
    result = _run(follow_up_queue, messages)

    assert result == {"batchItemFailures": []}
    (fault,) = httpx.get(f"{clean_faults}/_sandbox/faults").json()["faults"]
    assert fault["count"] == 10  # BeeCloud was not asked
    assert aws.published_events() == []
    assert follow_up_queue.attributes() == {"ApproximateNumberOfMessages": 0, "ApproximateNumberOfMessagesDelayed": 0}


def test_beecloud_failing_is_one_attempt_spent_not_a_redelivery(merchant, aws, follow_up_queue, clean_faults):
    _create(merchant, "FOLLOWUP0004")
    (first,) = follow_up_queue.receive()
    add_fault(clean_faults, scope="request", kind="error", path="/1/rest/bills", count=3, status=503)

    assert _run(follow_up_queue, [first]) == {"batchItemFailures": []}

    (second,) = follow_up_queue.receive()
    assert json.loads(second["Body"])["attempt"] == 2
    assert _status(merchant, "FOLLOWUP0004") == "pending"


def test_our_own_failure_is_reported_for_redelivery_and_the_rest_of_the_batch_proceeds(
    merchant, aws, beecloud_sandbox, follow_up_queue, monkeypatch
):
    _create(merchant, "FOLLOWUP0005")
    (mine,) = follow_up_queue.receive()
    _pay_at_beecloud(beecloud_sandbox.url, merchant, "FOLLOWUP0005")
    unreadable = {**mine, "MessageId": "not-a-follow-up", "Body": "{}"}
    other_app = _follow_up(follow_up_queue, app_id="app_00000000deadbeef", bill_no="FOLLOWUP0005", attempt=1)[0]
    # EventBridge refuses: the bill is settled but its event not published, so SQS must deliver it again.
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    from tests.support.functions import clear_container_caches

    clear_container_caches()

    result = _run(follow_up_queue, [mine, unreadable, other_app])

    assert result == {"batchItemFailures": [{"itemIdentifier": mine["MessageId"]}]}
    assert _status(merchant, "FOLLOWUP0005") == "succeeded"
    # The redelivery publishes the event (same id the webhook would have used), settled once.
    monkeypatch.setenv("EVENT_BUS_NAME", "paygate-test")
    clear_container_caches()
    assert _run(follow_up_queue, [mine]) == {"batchItemFailures": []}
    (event,) = [e for e in aws.published_events() if e["detail-type"] == "bill.succeeded"]
    assert event["detail"]["data"]["bill_no"] == "FOLLOWUP0005"


def test_a_queue_that_refuses_never_fails_the_bill_creation(merchant, aws, follow_up_queue, monkeypatch):
    monkeypatch.setenv("BILL_FOLLOW_UP_QUEUE_URL", follow_up_queue.url + "-missing")
    from tests.support.functions import clear_container_caches

    clear_container_caches()

    bill = _create(merchant, "FOLLOWUP0006")

    assert bill["status"] == "pending"
    assert sum(follow_up_queue.attributes().values()) == 0


@pytest.mark.parametrize("repeat", ["identical body", "idempotency key"])
def test_a_repeated_create_queues_no_second_follow_up(merchant, aws, follow_up_queue, repeat):
    headers = {"Authorization": merchant.auth}
    if repeat == "idempotency key":
        headers["Idempotency-Key"] = "k-1"
    body = {"bill_no": "FOLLOWUP0007", "channel": "WX_NATIVE", "total_fee": 100, "title": "白开水"}
    first = invoke("create_bill", api_event("POST", "/bills", body=body, headers=headers))
    again = invoke("create_bill", api_event("POST", "/bills", body=body, headers=headers))

    assert (first["statusCode"], again["statusCode"]) == (201, 200 if repeat == "identical body" else 201)
    assert sum(follow_up_queue.attributes().values()) == 1
