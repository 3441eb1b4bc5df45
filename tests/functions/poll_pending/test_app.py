"""PollPending with the state machine's real data shape, against moto and the BeilyPay sandbox."""

from __future__ import annotations

import json
import threading
import time

import boto3
import httpx
import pytest

from bench.samples import collection_body, payout_body
from paygate.clock import now_ms
from paygate.transfers.poller import PollState
from tests.support.functions import (
    api_event,
    beilypay_notify_event,
    body_of,
    invoke,
    load_event,
)


def _payout(merchant, **overrides):
    result = invoke(
        "payout", api_event("POST", "/payouts", body=payout_body(**overrides), headers={"Authorization": merchant.auth})
    )
    assert result["statusCode"] in (201, 202), result["body"]
    return body_of(result)


def _execution_input(merchant):
    """The input the Payout function started the poller with."""
    sfn = boto3.client("stepfunctions")
    (execution,) = merchant.executions()
    return json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])


def _poll(state):
    return invoke("poll_pending", state)


def _status(merchant, kind, out_order_no):
    key = {"pk": {"S": f"{kind.upper()}#{merchant.app_id}#{out_order_no}"}}
    return boto3.client("dynamodb").get_item(TableName="orders", Key=key)["Item"]["status"]["S"]


def _wait_final_at_beilypay(merchant, out_order_no):
    deadline = time.monotonic() + 5
    while merchant.sandbox_order(out_order_no)["status"] == 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_the_poller_is_started_with_the_schedule_and_the_deadline(beilypay, aws):
    _payout(beilypay)

    state = _execution_input(beilypay)

    assert state["kind"] == "payout"
    assert state["out_order_no"] == "PO-0001"
    assert (state["wait_seconds"], state["max_wait_seconds"]) == (1, 4)
    assert 55_000 < state["deadline_ms"] - now_ms() <= 60_000
    PollState.model_validate(state)


def test_a_poll_settles_a_payout_beilypay_finished(beilypay, aws):
    _payout(beilypay)
    _wait_final_at_beilypay(beilypay, "PO-0001")

    output = _poll(_execution_input(beilypay))

    assert (output["outcome"], output["status"], output["polls"]) == ("final", "succeeded", 1)
    assert _status(beilypay, "payout", "PO-0001") == "succeeded"
    assert [e["detail-type"] for e in aws.published_events()] == ["payout.succeeded"]


def test_a_poll_fails_a_payout_beilypay_failed(beilypay, aws):
    _payout(beilypay, account="123456780000")
    _wait_final_at_beilypay(beilypay, "PO-0001")

    output = _poll(_execution_input(beilypay))

    assert (output["outcome"], output["status"]) == ("final", "failed")
    assert [e["detail-type"] for e in aws.published_events()] == ["payout.failed"]


def test_a_pending_payout_waits_longer_each_round_capped_and_never_past_the_deadline(beilypay, aws):
    _payout(beilypay, account="123456789999")  # never finishes on its own
    state = _execution_input(beilypay)

    waits = []
    for _ in range(4):
        state = _poll(state)
        assert (state["outcome"], state["status"]) == ("pending", "pending")
        waits.append(state["wait_seconds"])
    near_deadline = _poll(state | {"deadline_ms": now_ms() + 2_500})

    assert waits == [2, 4, 4, 4]
    assert near_deadline["wait_seconds"] == 3
    assert aws.published_events() == []


def test_after_the_deadline_the_payout_becomes_unknown_and_is_reported(beilypay, aws):
    _payout(beilypay, account="123456789999")
    state = _execution_input(beilypay) | {"deadline_ms": now_ms() - 1}

    expired = _poll(state)
    marked = _poll(expired | {"action": "expire"})

    assert expired["outcome"] == "expired"
    assert (marked["outcome"], marked["status"]) == ("final", "unknown")
    assert _status(beilypay, "payout", "PO-0001") == "unknown"
    events = aws.published_events()
    assert [e["detail-type"] for e in events] == ["payout.unknown"]
    assert events[0]["detail"]["data"]["unknown_reason"] == "poll_deadline"


def test_a_late_notify_still_settles_an_unknown_payout(beilypay, aws):
    payout = _payout(beilypay, account="123456789999")
    state = _execution_input(beilypay) | {"deadline_ms": now_ms() - 1}
    _poll(state | {"action": "expire"})
    httpx.post(f"{beilypay.sandbox_url}/_sandbox/payouts/{payout['provider_order_no']}/complete", json={"status": 2})

    result = invoke("callback", beilypay_notify_event(beilypay, beilypay.notify_body(payout["provider_order_no"])))

    assert "SUCC" in result["body"]
    assert _status(beilypay, "payout", "PO-0001") == "succeeded"
    assert [e["detail-type"] for e in aws.published_events()] == ["payout.unknown", "payout.succeeded"]


def test_a_poll_after_the_notify_stops_without_a_second_event(beilypay, aws):
    payout = _payout(beilypay)
    invoke("callback", beilypay_notify_event(beilypay, beilypay.notify_body(payout["provider_order_no"])))

    output = _poll(_execution_input(beilypay))

    assert (output["outcome"], output["status"]) == ("final", "succeeded")
    assert [e["detail-type"] for e in aws.published_events()] == ["payout.succeeded"]


@pytest.mark.parametrize("repeat", range(3))
def test_notify_and_poll_at_the_same_moment_transition_once(beilypay, aws, repeat):
    payout = _payout(beilypay)
    notify = beilypay.notify_body(payout["provider_order_no"])
    state = _execution_input(beilypay)
    barrier = threading.Barrier(2)
    results = {}

    def run(name, call):
        barrier.wait()
        results[name] = call()

    def notify_call():
        return invoke("callback", beilypay_notify_event(beilypay, notify))

    threads = [
        threading.Thread(target=run, args=("notify", notify_call)),
        threading.Thread(target=run, args=("poll", lambda: _poll(state))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert "SUCC" in results["notify"]["body"]
    assert results["poll"]["status"] == "succeeded"
    events = aws.published_events()
    assert {e["detail"]["event_id"] for e in events} == {events[0]["detail"]["event_id"]}
    assert {e["detail-type"] for e in events} == {"payout.succeeded"}


def test_a_create_call_that_died_with_its_function_becomes_unknown(beilypay, aws):
    from paygate.deps import transfers_store
    from paygate.models import OrderKind, Payout, TransferStatus

    stuck = Payout(
        app_id=beilypay.app_id,
        out_order_no="PO-STUCK",
        amount=100,
        account_type="Card",
        account_last4="1234",
        account_owner="A",
        bank_code="SBIN",
        ifsc="SBIN0001234",
        status=TransferStatus.PENDING,
        provider_state="calling",
        request_hash="x",
        lease_until_ms=now_ms() - 1,
        created_at_ms=now_ms() - 60_000,
        updated_at_ms=now_ms() - 60_000,
    )
    transfers_store().put_new_transfer(OrderKind.PAYOUT, stuck)
    state = {
        "kind": "payout",
        "app_id": beilypay.app_id,
        "out_order_no": "PO-STUCK",
        "wait_seconds": 1,
        "max_wait_seconds": 4,
        "deadline_ms": now_ms() + 60_000,
    }

    output = _poll(state)

    assert (output["outcome"], output["status"]) == ("final", "unknown")
    events = aws.published_events()
    assert [e["detail-type"] for e in events] == ["payout.unknown"]
    assert events[0]["detail"]["data"]["unknown_reason"] == "create_interrupted"


def test_a_poll_settles_a_paid_collection_with_the_paid_amount(beilypay, aws):
    body = collection_body()
    created = body_of(
        invoke("collect", api_event("POST", "/collections", body=body, headers={"Authorization": beilypay.auth}))
    )
    httpx.post(
        f"{beilypay.sandbox_url}/_sandbox/collections/{created['provider_order_no']}/complete",
        json={"status": 2, "paid": 50_000},
    )

    output = _poll(_execution_input(beilypay))

    assert (output["outcome"], output["status"]) == ("final", "succeeded")
    events = aws.published_events()
    assert [e["detail-type"] for e in events] == ["collection.succeeded"]
    assert (events[0]["detail"]["data"]["paid"], events[0]["detail"]["data"]["amount"]) == (50_000, 49_900)


def test_beilypay_being_down_keeps_the_order_pending_for_the_next_round(beilypay, aws, beilypay_faults):
    _payout(beilypay, account="123456789999")
    httpx.post(
        f"{beilypay_faults}/_sandbox/faults",
        json={"scope": "request", "kind": "error", "status": 503, "path": "/v2/trans/query", "count": 3},
    )

    output = _poll(_execution_input(beilypay))

    assert (output["outcome"], output["status"]) == ("pending", "pending")
    assert _status(beilypay, "payout", "PO-0001") == "pending"


def test_the_catalogue_event_is_a_valid_task_input():
    assert PollState.model_validate(load_event("poll_pending")).kind == "payout"
