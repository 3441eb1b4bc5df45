"""FirstPoll: a new payout's first poll round as a delayed SQS message, against moto and the BeilyPay sandbox.

The create sends it instead of starting the state machine; a payout its notify settled is done
with one round and no execution; one still pending hands over to the state machine with the
round's next wait.
"""

from __future__ import annotations

import json

import boto3
import pytest

from bench.samples import payout_body
from tests.support.functions import FollowUpQueue, add_fault, api_event, beilypay_notify_event, body_of, invoke

REGION = "us-east-1"


@pytest.fixture
def first_polls(beilypay, monkeypatch) -> FollowUpQueue:
    from tests.support.functions import clear_container_caches

    url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="first-polls")["QueueUrl"]
    monkeypatch.setenv("FIRST_POLL_QUEUE_URL", url)
    clear_container_caches()
    return FollowUpQueue(url)


def _payout(merchant, out_order_no: str) -> dict:
    body = payout_body(out_order_no)
    result = invoke("payout", api_event("POST", "/payouts", body=body, headers={"Authorization": merchant.auth}))
    assert result["statusCode"] == 201, result["body"]
    return body_of(result)


def _batch(messages: list[dict]) -> dict:
    records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:first-polls",
                "awsRegion": REGION} for m in messages]  # fmt: skip
    return {"Records": records}


def test_a_payout_queues_its_first_poll_after_the_first_wait_and_starts_no_execution(beilypay, first_polls):
    _payout(beilypay, "FP-QUEUED")

    assert first_polls.attributes()["ApproximateNumberOfMessagesDelayed"] == 1  # POLL_FIRST_WAIT_S = 1
    assert beilypay.executions() == []
    (message,) = first_polls.receive()
    state = json.loads(message["Body"])
    assert (state["kind"], state["app_id"], state["out_order_no"], state["polls"]) == (
        "payout",
        beilypay.app_id,
        "FP-QUEUED",
        0,
    )


def test_a_payout_its_notify_settled_is_done_in_one_round_without_the_state_machine(beilypay, first_polls):
    payout = _payout(beilypay, "FP-SETTLED")
    notify = beilypay.notify_body(payout["provider_order_no"])
    assert "SUCC" in invoke("callback", beilypay_notify_event(beilypay, notify))["body"]

    assert invoke("first_poll", _batch(first_polls.receive())) == {"batchItemFailures": []}

    assert beilypay.executions() == []


def test_a_payout_still_pending_is_handed_to_the_state_machine_with_the_next_wait(
    beilypay, beilypay_faults, first_polls
):
    _payout(beilypay, "FP-PENDING")
    messages = first_polls.receive()
    # BeilyPay's query fails this round (an answer that says nothing): the order stays pending.
    add_fault(beilypay_faults, scope="request", kind="code", status=20001, path="/v2/trans/query", count=2)

    first = invoke("first_poll", _batch(messages))
    again = invoke("first_poll", _batch(messages))  # SQS delivered it twice: the second start is a no-op

    assert first == again == {"batchItemFailures": []}
    (execution,) = beilypay.executions()
    sfn = boto3.client("stepfunctions", region_name=REGION)
    state = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert execution["name"] == f"payout-{beilypay.app_id}-FP-PENDING"
    assert (state["polls"], state["outcome"], state["wait_seconds"]) == (1, "pending", 2)  # 1 s x growth 2
