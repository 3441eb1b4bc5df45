"""The README's promise, over real sockets on the local stack: payouts and collections over the BeilyPay
sandbox, settled by its notify or by the Step Functions poller (moto's ASL interpreter running the
real PollPending handler), with exactly one transition and one event per final state.

The poller runs with short intervals (first wait 1 s, cap 2 s, deadline 8 s) passed as template
parameters, as a deployment would pass production ones.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
import httpx
import pytest

from bench.samples import collection_body, payout_body
from paygate_local.stack import LocalStack, StackConfig
from tests.support.gateway import Gateway, Merchant
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e

DEADLINE_S = 8


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    """The module's own stack: the conftest's, plus a fast poll schedule."""
    stack = LocalStack(
        StackConfig.on_free_ports(
            time_scale=0.01,
            demo_app=False,
            parameter_overrides={
                "PollFirstWaitSeconds": "1",
                "PollMaxWaitSeconds": "2",
                "PollDeadlineSeconds": str(DEADLINE_S),
            },
        )
    )
    info = stack.start()
    try:
        yield Gateway(stack, info)
    finally:
        stack.stop()


@pytest.fixture
def beilypay_faults(gateway: Gateway) -> Iterator[str]:
    url = gateway.info.beilypay_url
    yield url
    httpx.delete(f"{url}/_sandbox/faults")


def _payout(out_order_no: str, account: str = "123456781234", amount: int = 150_000) -> dict[str, Any]:
    return payout_body(out_order_no, account=account, amount=amount)


def _final(shop: Merchant, path: str, timeout: float = 15.0) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        body: dict[str, Any] = shop.http.get(path).json()
        return body if body["status"] in ("succeeded", "failed", "unknown") else None

    return eventually(probe, timeout=timeout)


def _sandbox_orders(gateway: Gateway, shop: Merchant, out_order_no: str) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = httpx.get(
        f"{gateway.info.beilypay_url}/_sandbox/orders",
        params={"app_id": str(shop.beilypay["app_id"]), "out_order_no": out_order_no},
    ).json()["orders"]
    return orders


def _aws(gateway: Gateway, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=gateway.info.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _executions(gateway: Gateway, name: str) -> list[dict[str, Any]]:
    """The poller executions of one order, described: none while its first poll is queued."""
    sfn = _aws(gateway, "stepfunctions")
    machines = sfn.list_state_machines()["stateMachines"]
    (machine,) = [m for m in machines if "PollPending" in m["name"]]
    executions = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    return [sfn.describe_execution(executionArn=e["executionArn"]) for e in executions if e["name"] == name]


def _execution(gateway: Gateway, name: str) -> dict[str, Any]:
    (execution,) = _executions(gateway, name)
    return execution


def _first_polls_done(gateway: Gateway) -> bool:
    """FirstPollQueue holds nothing: every queued first poll has been delivered and handled."""
    sqs = _aws(gateway, "sqs")
    (url,) = [u for u in sqs.list_queues()["QueueUrls"] if u.endswith("FirstPollQueue")]
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesDelayed",
        "ApproximateNumberOfMessagesNotVisible",
    ]
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return all(int(counts[name]) == 0 for name in names)


def _events(gateway: Gateway, shop: Merchant, prefix: str) -> list[dict[str, Any]]:
    return [e for e in gateway.events(app_id=shop.app_id) if e["detail-type"].startswith(prefix)]


def test_a_payout_completed_by_beilypay_is_notified_and_succeeds_with_one_event(gateway):
    shop = gateway.merchant()

    created = shop.http.post("/payouts", json=_payout("E2E-PO-OK"))

    assert created.status_code == 201, created.text
    # Pending, unless BeilyPay's notify settled it before the answer was written.
    assert created.json()["status"] in ("pending", "succeeded")
    payout = _final(shop, "/payouts/E2E-PO-OK")
    assert payout["status"] == "succeeded"
    assert payout["provider_order_no"] == created.json()["provider_order_no"]
    events = eventually(lambda: _events(gateway, shop, "payout."))
    assert [e["detail-type"] for e in events] == ["payout.succeeded"]
    assert events[0]["detail"]["data"]["out_order_no"] == "E2E-PO-OK"
    # Its first poll (1 s here) finds it final: the state machine never runs for it, and no
    # second event is published.
    assert eventually(lambda: _first_polls_done(gateway))
    assert _executions(gateway, f"payout-{shop.app_id}-E2E-PO-OK") == []
    assert len({e["id"] for e in _events(gateway, shop, "payout.")}) == 1


def test_a_payout_beilypay_fails_ends_failed_with_one_event(gateway):
    shop = gateway.merchant()

    shop.http.post("/payouts", json=_payout("E2E-PO-FAIL", account="123456780000"))

    payout = _final(shop, "/payouts/E2E-PO-FAIL")
    assert payout["status"] == "failed"
    assert payout["failure"]["code"] == "payout_failed"
    events = eventually(lambda: _events(gateway, shop, "payout."))
    assert [e["detail-type"] for e in events] == ["payout.failed"]


def test_a_dropped_notify_is_made_up_for_by_the_poller(gateway, beilypay_faults):
    shop = gateway.merchant()
    httpx.post(f"{beilypay_faults}/_sandbox/faults", json={"scope": "callback", "kind": "drop"})

    created = shop.http.post("/payouts", json=_payout("E2E-PO-DROP"))

    order_no = created.json()["provider_order_no"]
    attempts = eventually(
        lambda: httpx.get(f"{beilypay_faults}/_sandbox/notifications", params={"ref": order_no}).json()["attempts"]
    )
    assert attempts[0]["fault"] == "drop"
    # The first poll (or, if BeilyPay had not finished by then, the state machine) settles it.
    assert _final(shop, "/payouts/E2E-PO-DROP")["status"] == "succeeded"
    executions = _executions(gateway, f"payout-{shop.app_id}-E2E-PO-DROP")
    assert all(e["status"] in ("RUNNING", "SUCCEEDED") for e in executions)
    assert [e["detail-type"] for e in eventually(lambda: _events(gateway, shop, "payout."))] == ["payout.succeeded"]


def test_notify_and_poll_at_the_same_moment_transition_once_with_one_event(gateway, beilypay_faults):
    shop = gateway.merchant()
    # Accounts ending 9999 stay pending until the control API completes them; the notify is
    # dropped so that this test delivers it itself, at the same moment as a poll round.
    httpx.post(f"{beilypay_faults}/_sandbox/faults", json={"scope": "callback", "kind": "drop"})
    created = shop.http.post("/payouts", json=_payout("E2E-PO-RACE", account="123456789999")).json()
    order_no = created["provider_order_no"]
    created_at_ms = int(datetime.fromisoformat(created["created_at"]).timestamp() * 1000)
    httpx.post(f"{beilypay_faults}/_sandbox/payouts/{order_no}/complete", json={"status": 2})
    notify = eventually(
        lambda: httpx.get(f"{beilypay_faults}/_sandbox/notifications", params={"ref": order_no}).json()["attempts"]
    )[0]["body"]
    lambda_client = boto3.client(
        "lambda",
        endpoint_url=gateway.info.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    # A poll round's input as the poller sends it (the first poll's, here: nothing else is running).
    state = {"kind": "payout", "app_id": shop.app_id, "out_order_no": "E2E-PO-RACE", "wait_seconds": 1,
             "max_wait_seconds": 4, "growth": 2, "deadline_ms": created_at_ms + 60_000, "polls": 0}  # fmt: skip
    barrier = threading.Barrier(3)
    answers: dict[str, Any] = {}

    def send_notify() -> None:
        barrier.wait()
        answers["notify"] = httpx.post(f"{gateway.info.api_url}/callbacks/beilypay/{shop.app_id}", json=notify)

    def poll() -> None:
        barrier.wait()
        answer = lambda_client.invoke(FunctionName="paygate-local-PollPendingFunction", Payload=json.dumps(state))
        answers["poll"] = json.loads(answer["Payload"].read())

    def notify_again() -> None:
        barrier.wait()
        answers["again"] = httpx.post(f"{gateway.info.api_url}/callbacks/beilypay/{shop.app_id}", json=notify)

    threads = [threading.Thread(target=f) for f in (send_notify, poll, notify_again)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert "SUCC" in answers["notify"].text
    assert "SUCC" in answers["again"].text
    assert answers["poll"]["status"] == "succeeded"
    payout = shop.http.get("/payouts/E2E-PO-RACE").json()
    assert payout["status"] == "succeeded"
    # Whichever poller runs for it (its first poll, perhaps the state machine) ends, with one event id.
    assert eventually(
        lambda: all(
            e["status"] in ("ABORTED", "SUCCEEDED") for e in _executions(gateway, f"payout-{shop.app_id}-E2E-PO-RACE")
        )
    )
    events = eventually(lambda: _events(gateway, shop, "payout."))
    assert {e["detail-type"] for e in events} == {"payout.succeeded"}
    assert len({e["detail"]["event_id"] for e in events}) == 1
    assert shop.http.get("/payouts/E2E-PO-RACE").json()["finished_at"] == payout["finished_at"]


def test_a_collection_paid_on_the_pay_page_succeeds_with_paid(gateway):
    shop = gateway.merchant()
    created = shop.http.post(
        "/collections",
        json=collection_body("E2E-CO-1"),
    )
    assert created.status_code == 201, created.text

    page = httpx.get(created.json()["pay_url"])  # the customer opens the pay page

    assert page.status_code == 200
    collection = _final(shop, "/collections/E2E-CO-1")
    assert (collection["status"], collection["paid"], collection["amount"]) == ("succeeded", 49_900, 49_900)
    events = eventually(lambda: _events(gateway, shop, "collection."))
    assert [e["detail-type"] for e in events] == ["collection.succeeded"]
    assert events[0]["detail"]["data"]["paid"] == 49_900


def test_the_balance_is_beilypays_settlement_amount_exactly(gateway):
    shop = gateway.merchant()
    httpx.post(
        f"{gateway.info.beilypay_url}/_sandbox/apps/{shop.beilypay['app_id']}/balance", json={"balance": 123_456_789}
    )

    balance = shop.http.get("/balance")

    assert balance.status_code == 200, balance.text
    assert balance.json() == {
        "object": "balance",
        "currency": "INR",
        "available": "1234567.89",
        "available_paise": 123_456_789,
    }


def test_a_lost_create_answer_makes_the_payout_unknown_and_it_is_never_sent_again(gateway, beilypay_faults):
    shop = gateway.merchant()
    # BeilyPay executes the create, but its answer never reaches paygate.
    httpx.post(
        f"{beilypay_faults}/_sandbox/faults",
        json={"scope": "request", "kind": "hang", "process": True, "path": "/v2/trans/create", "delay_s": 50},
    )

    first = shop.http.post("/payouts", json=_payout("E2E-PO-LOST", account="123456789999"))
    repeat = shop.http.post("/payouts", json=_payout("E2E-PO-LOST", account="123456789999"))

    assert (first.status_code, first.json()["status"]) == (202, "unknown"), first.text
    assert (repeat.status_code, repeat.json()["status"]) == (200, "unknown")
    assert len(_sandbox_orders(gateway, shop, "E2E-PO-LOST")) == 1
    events = eventually(lambda: _events(gateway, shop, "payout."))
    assert [e["detail-type"] for e in events] == ["payout.unknown"]
    # When BeilyPay later finishes it, its notify still settles the payout (matched by out_order_no).
    (order,) = _sandbox_orders(gateway, shop, "E2E-PO-LOST")
    httpx.post(f"{beilypay_faults}/_sandbox/payouts/{order['orderNo']}/complete", json={"status": 2})
    eventually(lambda: shop.http.get("/payouts/E2E-PO-LOST").json()["status"] == "succeeded")
    assert shop.http.get("/payouts/E2E-PO-LOST").json()["provider_order_no"] == order["orderNo"]
    assert len(_sandbox_orders(gateway, shop, "E2E-PO-LOST")) == 1


def test_a_payout_still_pending_at_the_deadline_is_marked_unknown_and_reported(gateway):
    shop = gateway.merchant()

    shop.http.post("/payouts", json=_payout("E2E-PO-LATE", account="123456789999"))

    payout = _final(shop, "/payouts/E2E-PO-LATE", timeout=DEADLINE_S + 15)
    assert (payout["status"], payout["unknown_reason"]) == ("unknown", "poll_deadline")
    events = eventually(lambda: _events(gateway, shop, "payout."))
    assert [e["detail-type"] for e in events] == ["payout.unknown"]
    execution = eventually(
        lambda: (e := _execution(gateway, f"payout-{shop.app_id}-E2E-PO-LATE"))["status"] != "RUNNING" and e
    )
    assert execution["status"] == "FAILED"  # the state machine's terminal `Unknown` state, for alarms
