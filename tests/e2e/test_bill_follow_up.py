"""A bill whose BeeCloud webhook is lost settles by itself on the local stack: the delayed follow-up
CreateBill queues (BillFollowUpQueue, honoured by moto's DelaySeconds) reaches the real
BillFollowUp handler, which asks BeeCloud's bill query. No refresh call, no reconciliation.

The first follow-up waits 1 s here (template parameter BillFollowUpSeconds; 300 s by default).
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import httpx
import pytest

from paygate_local.stack import LocalStack, StackConfig
from tests.support.gateway import Gateway
from tests.support.polling import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    """The module's own stack: the conftest's, plus a 1 s first follow-up."""
    stack = LocalStack(
        StackConfig.on_free_ports(time_scale=0.01, demo_app=False, parameter_overrides={"BillFollowUpSeconds": "1"})
    )
    info = stack.start()
    try:
        yield Gateway(stack, info)
    finally:
        stack.stop()


def _ledger_item(gateway: Gateway, app_id: str, bill_no: str) -> dict:
    assert gateway.stack.template is not None
    table = gateway.stack.template.resources["OrdersTable"].name
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=gateway.info.dynamodb_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return dynamodb.get_item(TableName=table, Key={"pk": {"S": f"BILL#{app_id}#{bill_no}"}})["Item"]


def test_a_paid_bill_whose_webhook_was_dropped_settles_by_its_follow_up(gateway):
    shop = gateway.merchant("follow-up-shop")
    beecloud = gateway.info.beecloud_url
    ref = f"{shop.beecloud_app_id}/PAY/E2EFOLLOW001"
    assert httpx.post(f"{beecloud}/_sandbox/faults", json={"scope": "callback", "kind": "drop", "path": ref}).is_success
    created = shop.http.post(
        "/bills", json={"bill_no": "E2EFOLLOW001", "channel": "WX_NATIVE", "total_fee": 100, "title": "白开水"}
    )
    assert created.status_code == 201, created.text

    assert httpx.get(created.json()["payment"]["code_url"]).status_code == 200  # the customer pays
    attempts = eventually(
        lambda: httpx.get(f"{beecloud}/_sandbox/notifications", params={"ref": ref}).json()["attempts"]
    )
    assert [(a["acked"], a["error"]) for a in attempts] == [(False, "dropped by fault injection")]

    paid = eventually(lambda: (b := shop.http.get("/bills/E2EFOLLOW001").json())["status"] == "succeeded" and b)
    assert (paid["total_fee"], paid["paid_at"] is not None) == (100, True)
    events = eventually(lambda: gateway.events("bill.succeeded", shop.app_id))
    assert [e["detail"]["data"]["bill_no"] for e in events] == ["E2EFOLLOW001"]
    evidence = _ledger_item(gateway, shop.app_id, "E2EFOLLOW001")["reconciled_by"]["M"]
    assert evidence["by"]["S"] == "follow_up"  # neither a refresh call nor a reconciliation run
    assert evidence["record"]["M"]["spay_result"]["BOOL"] is True


def test_a_refresh_through_the_typed_client_and_the_follow_up_settle_once_with_one_event_id(gateway):
    from paygate_client import BillStatus, PaygateClient

    app = gateway.stack.create_app("refresh-shop")
    beecloud = gateway.info.beecloud_url
    ref = f"{app['beecloud']['app_id']}/PAY/E2EREFRESH01"
    assert httpx.post(f"{beecloud}/_sandbox/faults", json={"scope": "callback", "kind": "drop", "path": ref}).is_success

    with PaygateClient(app["api_key"], gateway.info.api_url) as paygate:
        bill = paygate.create_bill("E2EREFRESH01", "ALI_APP", 300, "白开水")
        assert paygate.refresh_bill("E2EREFRESH01").status is BillStatus.PENDING  # not paid yet
        pay = httpx.post(f"{beecloud}/_sandbox/bills/{app['beecloud']['app_id']}/E2EREFRESH01/pay")
        assert pay.status_code == 200, pay.text

        refreshed = paygate.refresh_bill("E2EREFRESH01")  # races the bill's follow-up

    assert (bill.status, refreshed.status, refreshed.total_fee) == (BillStatus.PENDING, BillStatus.SUCCEEDED, 300)
    events = eventually(lambda: gateway.events("bill.succeeded", app["app_id"]))
    assert {e["detail"]["event_id"] for e in events} == {events[0]["detail"]["event_id"]}
    assert {e["detail"]["data"]["paid_at"] for e in events} == {refreshed.paid_at}  # one transition
