"""The webhook promises on the local stack, over real sockets: a paid bill reaches a merchant's
endpoint signed; failures are retried on the schedule and logged; a slow receiver holds up nobody;
resend works; the last failure goes to the dead-letter queue."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import httpx
import pytest

from paygate.webhooks.verify import construct_event
from paygate_local.stack import LocalStack, StackConfig
from tests.support.gateway import Gateway, Merchant
from tests.support.polling import eventually
from tests.support.webhook_receiver import Receiver, running_receiver

MAX_ATTEMPTS = 6
WAIT_S = 60.0  # a bound for polling on a shared, busy machine, not an expectation
_bill_numbers = (f"E2EWH{n:07d}" for n in itertools.count(1))


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    """The stack with a 1 s backoff and local (http, loopback) endpoints allowed."""
    stack = LocalStack(
        StackConfig.on_free_ports(
            time_scale=0.01,
            demo_app=False,
            parameter_overrides={
                "WebhookRetryBaseSeconds": "1",
                "WebhookRetryMaxSeconds": "1",
                "WebhookMaxAttempts": str(MAX_ATTEMPTS),
                "WebhookAllowInsecureUrls": "true",
            },
        )
    )
    info = stack.start()
    try:
        yield Gateway(stack, info)
    finally:
        stack.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def _endpoint(shop: Merchant, url: str, event_types: list[str]) -> dict:
    created = shop.http.post("/webhook-endpoints", json={"url": url, "event_types": event_types})
    assert created.status_code == 201, created.text
    return created.json()


def _pay_a_bill(gateway: Gateway, shop: Merchant) -> str:
    bill_no = next(_bill_numbers)
    created = shop.http.post(
        "/bills", json={"bill_no": bill_no, "channel": "WX_NATIVE", "total_fee": 100, "title": "webhook"}
    )
    assert created.status_code == 201, created.text
    assert httpx.get(created.json()["payment"]["code_url"]).status_code == 200
    return bill_no


def _log(shop: Merchant, endpoint_id: str) -> list[dict]:
    response = shop.http.get(f"/webhook-endpoints/{endpoint_id}/deliveries", params={"limit": 50})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _bill_no(request) -> str:
    return json.loads(request.body)["data"]["bill_no"]


def test_a_registered_endpoint_receives_a_signed_bill_succeeded(gateway, receiver):
    shop = gateway.merchant()
    endpoint = _endpoint(shop, receiver.url + "/hook", ["bill.succeeded"])

    bill_no = _pay_a_bill(gateway, shop)

    [request] = eventually(lambda: receiver.at("/hook"), timeout=WAIT_S)
    event = construct_event(request.body, request.headers["Paygate-Signature"], endpoint["secret"])
    assert event["type"] == "bill.succeeded"
    assert event["app_id"] == shop.app_id
    assert event["data"]["bill_no"] == bill_no
    assert event["data"]["status"] == "succeeded"
    assert request.headers["Paygate-Event-Id"] == event["event_id"]
    [bus_event] = eventually(lambda: gateway.events("bill.succeeded", shop.app_id), timeout=WAIT_S)
    assert bus_event["detail"]["event_id"] == event["event_id"]  # the same id as on EventBridge
    [attempt] = eventually(lambda: _log(shop, endpoint["id"]), timeout=WAIT_S)
    assert (attempt["attempt"], attempt["status"], attempt["response_status"]) == (1, "succeeded", 200)


def test_a_receiver_failing_4_times_acknowledges_once_with_5_attempts_logged(gateway, receiver):
    shop = gateway.merchant()
    endpoint = _endpoint(shop, receiver.script("/flaky", 500, 503, 500, 502, 200), ["bill.*"])

    first = _pay_a_bill(gateway, shop)

    log = eventually(
        lambda: (entries := _log(shop, endpoint["id"])) and entries[0]["status"] == "succeeded" and entries,
        timeout=WAIT_S,
    )
    assert [(a["attempt"], a["status"], a["response_status"]) for a in log] == [
        (5, "succeeded", 200),
        (4, "failed", 502),
        (3, "failed", 500),
        (2, "failed", 503),
        (1, "failed", 500),
    ]
    assert all(a["next_attempt_at"] for a in log[1:])
    assert len({a["event_id"] for a in log}) == 1
    # A later event reaches the endpoint too; by then the first is still acknowledged exactly once.
    second = _pay_a_bill(gateway, shop)
    eventually(lambda: [r for r in receiver.at("/flaky") if _bill_no(r) == second and r.status == 200], timeout=WAIT_S)
    firsts = [r for r in receiver.at("/flaky") if _bill_no(r) == first]
    assert [r.status for r in firsts] == [500, 503, 500, 502, 200]
    assert [r.headers["Paygate-Delivery-Attempt"] for r in firsts] == ["1", "2", "3", "4", "5"]


def test_a_slow_receiver_does_not_delay_another_endpoint(gateway, receiver):
    shop = gateway.merchant()
    _endpoint(shop, receiver.hold("/slow"), ["bill.succeeded"])
    _endpoint(shop, receiver.url + "/fast", ["bill.succeeded"])

    _pay_a_bill(gateway, shop)

    try:
        eventually(lambda: [r for r in receiver.at("/fast") if r.status == 200], timeout=WAIT_S)
        assert all(r.status is None for r in receiver.at("/slow"))  # held: not answered (maybe not even reached)
    finally:
        receiver.release("/slow")
    eventually(lambda: [r for r in receiver.at("/slow") if r.status == 200], timeout=WAIT_S)


def test_resend_delivers_a_stored_event_again(gateway, receiver):
    shop = gateway.merchant()
    endpoint = _endpoint(shop, receiver.url + "/again", ["*"])
    _pay_a_bill(gateway, shop)
    [original] = eventually(lambda: receiver.at("/again"), timeout=WAIT_S)
    event_id = original.headers["Paygate-Event-Id"]

    resent = shop.http.post(f"/events/{event_id}/resend")

    assert resent.status_code == 202, resent.text
    assert resent.json()["endpoint_ids"] == [endpoint["id"]]
    requests = eventually(lambda: len(r := receiver.at("/again")) == 2 and r, timeout=WAIT_S)
    assert requests[1].body == original.body  # the same event, freshly signed
    construct_event(requests[1].body, requests[1].headers["Paygate-Signature"], endpoint["secret"])
    log = eventually(lambda: len(entries := _log(shop, endpoint["id"])) == 2 and entries, timeout=WAIT_S)
    assert [(a["attempt"], a["resend"]) for a in log] == [(1, True), (1, False)]
    other = gateway.merchant("other")
    assert other.http.post(f"/events/{event_id}/resend").status_code == 404


def test_the_last_failed_attempt_goes_to_the_dead_letter_queue(gateway, receiver):
    shop = gateway.merchant()
    endpoint = _endpoint(shop, receiver.script("/down", 500), ["bill.succeeded"])

    _pay_a_bill(gateway, shop)

    log = eventually(
        lambda: (entries := _log(shop, endpoint["id"])) and entries[0]["final"] and entries, timeout=WAIT_S
    )
    assert [a["attempt"] for a in log] == list(range(MAX_ATTEMPTS, 0, -1))
    sqs = gateway.stack.moto.client("sqs")
    dlq = sqs.get_queue_url(QueueName="paygate-local-WebhookDeadLetterQueue")["QueueUrl"]

    def dead_letters():
        messages = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        return [m for m in messages if json.loads(m["Body"]).get("endpoint_id") == endpoint["id"]]

    [dead] = eventually(dead_letters, timeout=WAIT_S)
    assert json.loads(dead["Body"])["event_type"] == "bill.succeeded"
    assert len(receiver.at("/down")) == MAX_ATTEMPTS


def test_after_a_secret_rotation_deliveries_verify_with_the_old_and_the_new_secret(gateway, receiver):
    shop = gateway.merchant()
    endpoint = _endpoint(shop, receiver.url + "/rotated", ["bill.succeeded"])
    rotated = shop.http.post(
        f"/webhook-endpoints/{endpoint['id']}/rotate-secret", json={"expire_previous_after_s": 3600}
    )
    assert rotated.status_code == 200, rotated.text

    _pay_a_bill(gateway, shop)

    [request] = eventually(lambda: receiver.at("/rotated"), timeout=WAIT_S)
    for secret in (endpoint["secret"], rotated.json()["secret"]):
        construct_event(request.body, request.headers["Paygate-Signature"], secret)
