"""BeeCloud webhooks fed to the callback handler: the sandbox's real signed bodies, and forgeries."""

from __future__ import annotations

import boto3
import pytest

from tests.support.functions import api_event, invoke, pay_in_sandbox, webhook_event


def _create_bill(merchant, bill_no="PAID00000001", total_fee=100):
    body = {"bill_no": bill_no, "channel": "WX_NATIVE", "total_fee": total_fee, "title": "白开水"}
    result = invoke("create_bill", api_event("POST", "/bills", body=body, headers={"Authorization": merchant.auth}))
    assert result["statusCode"] == 201, result["body"]


def _bill_item(merchant, bill_no):
    key = {"pk": {"S": f"BILL#{merchant.app_id}#{bill_no}"}}
    return boto3.client("dynamodb").get_item(TableName="orders", Key=key)["Item"]


def test_a_paid_webhook_marks_the_bill_succeeded_and_publishes_one_event(merchant, aws, beecloud_sandbox):
    _create_bill(merchant)
    payload = pay_in_sandbox(beecloud_sandbox.url, merchant, "PAID00000001")

    result = invoke("callback", webhook_event(merchant, payload))

    assert (result["statusCode"], result["body"]) == (200, "success")
    assert _bill_item(merchant, "PAID00000001")["status"]["S"] == "succeeded"
    events = aws.published_events()
    assert [e["detail-type"] for e in events] == ["bill.succeeded"]
    detail = events[0]["detail"]
    assert detail["app_id"] == merchant.app_id
    assert detail["data"]["bill_no"] == "PAID00000001"
    assert detail["data"]["total_fee"] == 100
    assert detail["data"]["status"] == "succeeded"


def test_duplicate_webhooks_transition_once_and_republish_the_same_event_id(merchant, aws, beecloud_sandbox):
    _create_bill(merchant)
    payload = pay_in_sandbox(beecloud_sandbox.url, merchant, "PAID00000001")
    first = invoke("callback", webhook_event(merchant, payload))
    paid_at = _bill_item(merchant, "PAID00000001")["paid_at_ms"]["N"]

    results = [invoke("callback", webhook_event(merchant, payload)) for _ in range(4)]

    assert all(r["body"] == "success" for r in [first, *results])
    assert _bill_item(merchant, "PAID00000001")["paid_at_ms"]["N"] == paid_at
    events = aws.published_events()
    assert {e["detail"]["event_id"] for e in events} == {events[0]["detail"]["event_id"]}


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda p: p | {"sign": "0" * 32, "signature": "0" * 32}, id="forged-signature"),
        pytest.param(lambda p: {k: v for k, v in p.items() if k not in ("sign", "signature")}, id="unsigned"),
        pytest.param(
            lambda p: {k: v for k, v in p.items() if k != "signature"} | {"transaction_fee": 1, "transactionFee": 1},
            id="amount-changed-under-a-valid-sign",
        ),
        pytest.param(
            lambda p: {k: v for k, v in p.items() if k != "signature"} | {"channel_type": "ALI", "channelType": "ALI"},
            id="channel-changed-under-a-valid-sign",
        ),
        pytest.param(
            lambda p: (
                {k: v for k, v in p.items() if k != "signature"}
                | {"transaction_id": "UNKNOWN00001", "transactionId": "UNKNOWN00001"}
            ),
            id="unknown-order",
        ),
    ],
)
def test_forged_or_mismatched_webhooks_change_nothing(merchant, aws, beecloud_sandbox, tamper):
    _create_bill(merchant)
    payload = pay_in_sandbox(beecloud_sandbox.url, merchant, "PAID00000001")

    result = invoke("callback", webhook_event(merchant, tamper(dict(payload))))

    assert result["statusCode"] == 400
    assert result["body"] != "success"
    assert _bill_item(merchant, "PAID00000001")["status"]["S"] == "pending"
    assert aws.published_events() == []


def test_a_webhook_sent_to_another_apps_url_is_rejected(merchant, aws, beecloud_sandbox):
    from paygate.apps.admin import BeeCloudAccount, create_app

    other, _, _ = create_app(
        "other", beecloud=BeeCloudAccount("5f0e3d9c-1111-4222-8333-944455556666", "x", "y"), beilypay=None
    )
    _create_bill(merchant)
    payload = pay_in_sandbox(beecloud_sandbox.url, merchant, "PAID00000001")

    result = invoke("callback", webhook_event(merchant, payload, app_id=other.app_id))

    assert result["statusCode"] == 400
    assert _bill_item(merchant, "PAID00000001")["status"]["S"] == "pending"


@pytest.mark.parametrize("body", ["not json", "[1, 2]", ""])
def test_unreadable_bodies_are_rejected(merchant, aws, body):
    result = invoke("callback", webhook_event(merchant, body))
    assert result["statusCode"] in (400, 415)
    assert result["body"] != "success"


def test_unknown_app_is_rejected(merchant, aws):
    result = invoke("callback", webhook_event(merchant, {"sign": "x"}, app_id="app_ffffffffffffffff"))
    assert result["statusCode"] == 400


def test_trade_success_false_is_acknowledged_and_ignored(merchant, aws, beecloud_sandbox):
    _create_bill(merchant)
    payload = pay_in_sandbox(beecloud_sandbox.url, merchant, "PAID00000001")
    payload |= {"trade_success": False, "tradeSuccess": False}

    result = invoke("callback", webhook_event(merchant, payload))

    assert result["body"] == "success"
    assert _bill_item(merchant, "PAID00000001")["status"]["S"] == "pending"


def test_callback_route_needs_no_api_key_but_bills_do(merchant, aws):
    result = invoke("callback", webhook_event(merchant, {"sign": "x"}))
    assert result["statusCode"] == 400  # refused for the signature, not for a key


def test_a_captured_webhook_replayed_for_another_unpaid_bill_is_refused(merchant, aws, beecloud_sandbox):
    # `sign` covers neither order nor amount: only BeeCloud's own word may move the other bill.
    _create_bill(merchant)
    _create_bill(merchant, bill_no="UNPAID000001")
    payload = pay_in_sandbox(beecloud_sandbox.url, merchant, "PAID00000001")
    replay = payload | {"transaction_id": "UNPAID000001", "transactionId": "UNPAID000001"}

    for body in (replay, {k: v for k, v in replay.items() if k != "signature"}):
        result = invoke("callback", webhook_event(merchant, body))
        assert result["statusCode"] == 400
    assert _bill_item(merchant, "UNPAID000001")["status"]["S"] == "pending"
    assert aws.published_events() == []


def test_a_sign_only_webhook_is_applied_once_beecloud_confirms_the_payment(merchant, aws, beecloud_sandbox):
    _create_bill(merchant)
    payload = pay_in_sandbox(beecloud_sandbox.url, merchant, "PAID00000001")

    result = invoke("callback", webhook_event(merchant, {k: v for k, v in payload.items() if k != "signature"}))

    assert (result["statusCode"], result["body"]) == (200, "success")
    assert _bill_item(merchant, "PAID00000001")["status"]["S"] == "succeeded"
