"""WebhookDispatcher with Lambda's SQS event shape: fan-out from the bus, signed POSTs, retries."""

from __future__ import annotations

import json
import threading

import boto3

from paygate.bus import EventPublisher
from paygate.events import DomainEvent
from paygate.webhooks.verify import construct_event, verify_signature
from tests.support.functions import BUS, REGION
from tests.support.webhook_receiver import wait_for


def _publish(app_id, detail_type="bill.succeeded", order="bill:WH0000000001"):
    event = DomainEvent(detail_type, app_id, order, 1_800_000_000_000, {"bill_no": order.split(":")[1]})
    EventPublisher(boto3.client("events", region_name=REGION), BUS).publish(event)
    return event


def _fan_out(webhooks, expected_tasks):
    """The events queue -> dispatcher -> the deliveries queue's records."""
    result = webhooks.dispatch(webhooks.records(webhooks.events_queue_url))
    assert result == {"batchItemFailures": []}
    return webhooks.records(webhooks.deliveries_queue_url, at_least=expected_tasks) if expected_tasks else []


def _attempts(webhooks, merchant, endpoint_id):
    return webhooks.deliveries(merchant, endpoint_id)["data"]


def test_an_event_is_fanned_out_to_subscribed_endpoints_only_and_stored_once(merchant, webhooks, receiver):
    bills = webhooks.create_endpoint(merchant, receiver.url + "/bills", ["bill.*"])
    webhooks.create_endpoint(merchant, receiver.url + "/payouts", ["payout.succeeded"])
    everything = webhooks.create_endpoint(merchant, receiver.url + "/all", ["*"])
    event = _publish(merchant.app_id)

    tasks = [json.loads(r["body"]) for r in _fan_out(webhooks, 2)]

    assert sorted(t["endpoint_id"] for t in tasks) == sorted([bills["id"], everything["id"]])
    assert {t["event_id"] for t in tasks} == {event.event_id}
    # The same event again (republished, or EventBridge's at-least-once) is not fanned out twice.
    _publish(merchant.app_id)
    assert _fan_out(webhooks, 0) == []
    assert webhooks.records(webhooks.deliveries_queue_url, at_least=0) == []


def test_a_delivery_is_signed_and_logged(merchant, webhooks, receiver):
    endpoint = webhooks.create_endpoint(merchant, receiver.url + "/hook", ["bill.succeeded"])
    event = _publish(merchant.app_id)

    result = webhooks.dispatch(_fan_out(webhooks, 1))

    assert result == {"batchItemFailures": []}
    [request] = receiver.at("/hook")
    assert request.headers["Paygate-Event-Id"] == event.event_id
    assert request.headers["Content-Type"] == "application/json"
    body = construct_event(request.body, request.headers["Paygate-Signature"], endpoint["secret"])
    assert body == event.detail()
    [attempt] = _attempts(webhooks, merchant, endpoint["id"])
    assert attempt["status"] == "succeeded"
    assert attempt["attempt"] == 1
    assert attempt["response_status"] == 200
    assert attempt["next_attempt_at"] is None


def test_a_failed_attempt_is_reported_and_backs_off(merchant, webhooks, receiver):
    endpoint = webhooks.create_endpoint(merchant, receiver.script("/hook", 503), ["*"])
    _publish(merchant.app_id)
    [record] = _fan_out(webhooks, 1)

    result = webhooks.dispatch([record])

    assert webhooks.failed_ids(result) == {record["messageId"]}
    [attempt] = _attempts(webhooks, merchant, endpoint["id"])
    assert attempt["status"] == "failed"
    assert attempt["error"] == "http_503"
    assert attempt["next_attempt_at"] > attempt["attempted_at"]
    assert attempt["final"] is False
    # The message's visibility is now the backoff (60 s): it is not handed out again meanwhile.
    assert webhooks.records(webhooks.deliveries_queue_url, at_least=0) == []


def test_the_last_attempt_is_final(merchant, webhooks, receiver):
    endpoint = webhooks.create_endpoint(merchant, receiver.script("/hook", 500), ["*"])
    _publish(merchant.app_id)
    [record] = _fan_out(webhooks, 1)
    record["attributes"]["ApproximateReceiveCount"] = "3"  # WEBHOOK_MAX_ATTEMPTS in these tests

    result = webhooks.dispatch([record])

    assert webhooks.failed_ids(result) == {record["messageId"]}
    [attempt] = _attempts(webhooks, merchant, endpoint["id"])
    assert attempt["final"] is True
    assert attempt["next_attempt_at"] is None


def test_a_deleted_endpoint_drops_its_queued_deliveries(merchant, webhooks, receiver):
    from paygate.deps import endpoint_service

    endpoint = webhooks.create_endpoint(merchant, receiver.url + "/hook", ["*"])
    _publish(merchant.app_id)
    records = _fan_out(webhooks, 1)
    endpoint_service().delete(merchant.app_id, endpoint["id"])

    assert webhooks.dispatch(records) == {"batchItemFailures": []}
    assert receiver.at("/hook") == []


def test_loopback_destinations_are_blocked_in_production(merchant, webhooks, receiver, monkeypatch):
    from paygate import deps

    endpoint = webhooks.create_endpoint(merchant, receiver.url + "/hook", ["*"])
    _publish(merchant.app_id)
    records = _fan_out(webhooks, 1)
    monkeypatch.setenv("WEBHOOK_ALLOW_INSECURE_URLS", "false")
    deps.clear_caches()

    result = webhooks.dispatch(records)

    assert webhooks.failed_ids(result) == {records[0]["messageId"]}
    assert receiver.at("/hook") == []
    assert _attempts(webhooks, merchant, endpoint["id"])[0]["error"] == "blocked_destination"


def test_a_slow_receiver_does_not_hold_up_another_endpoint(merchant, webhooks, receiver):
    slow = webhooks.create_endpoint(merchant, receiver.hold("/slow"), ["*"])
    webhooks.create_endpoint(merchant, receiver.url + "/fast", ["*"])
    _publish(merchant.app_id)
    records = _fan_out(webhooks, 2)
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(result=webhooks.dispatch(records)))

    worker.start()
    try:
        # The fast endpoint is answered while the slow one is still holding its request open
        # (wait for both to be observable: the slow request may connect after the fast answer).
        wait_for(lambda: [r for r in receiver.at("/fast") if r.status == 200] and receiver.at("/slow"))
        assert [r.status for r in receiver.at("/slow")] == [None]
    finally:
        receiver.release("/slow")
        worker.join(timeout=30)
    assert outcome["result"] == {"batchItemFailures": []}
    assert _attempts(webhooks, merchant, slow["id"])[0]["status"] == "succeeded"


def test_a_receiver_that_never_answers_times_out(merchant, webhooks, receiver, monkeypatch):
    from paygate import deps

    monkeypatch.setenv("WEBHOOK_TIMEOUT_S", "0.5")
    deps.clear_caches()
    endpoint = webhooks.create_endpoint(merchant, receiver.hold("/hang"), ["*"])
    _publish(merchant.app_id)

    result = webhooks.dispatch(_fan_out(webhooks, 1))

    assert len(webhooks.failed_ids(result)) == 1
    assert _attempts(webhooks, merchant, endpoint["id"])[0]["error"] == "timeout"


def test_the_signature_rejects_a_wrong_secret(merchant, webhooks, receiver):
    webhooks.create_endpoint(merchant, receiver.url + "/hook", ["*"])
    _publish(merchant.app_id)
    webhooks.dispatch(_fan_out(webhooks, 1))
    [request] = receiver.at("/hook")

    import pytest

    from paygate.webhooks.verify import SignatureVerificationError

    with pytest.raises(SignatureVerificationError):
        verify_signature(request.body, request.headers["Paygate-Signature"], "whsec_wrong")


def test_unreadable_messages_are_dropped_not_retried(webhooks):
    sqs = boto3.client("sqs", region_name=REGION)
    sqs.send_message(QueueUrl=webhooks.deliveries_queue_url, MessageBody="not json")
    sqs.send_message(QueueUrl=webhooks.deliveries_queue_url, MessageBody='{"hello": 1}')
    assert webhooks.dispatch(webhooks.records(webhooks.deliveries_queue_url, at_least=2)) == {"batchItemFailures": []}
