"""Refunds through the handler, the BeeCloud sandbox and moto's DynamoDB transactions."""

from __future__ import annotations

import boto3
import httpx
import pytest

from paygate.clock import china_date, iso_from_ms, now_ms
from paygate.deps import beecloud_client, event_publisher, orders_store
from paygate.payments.refunds import RefundService
from tests.support.clock import DAY_MS, next_china_midnight_ms, refund_no, today_in_china
from tests.support.functions import (
    add_fault,
    api_event,
    body_of,
    invoke,
    load_function,
    pay_in_sandbox,
    sandbox_webhook,
    webhook_event,
)

pytestmark = pytest.mark.clock  # dates: run under shifted clocks by `make test-clock`


def _paid_bill(merchant, sandbox_url, bill_no="REFUNDBILL01", channel="WX_NATIVE", total_fee=1000, **extra):
    body = {"bill_no": bill_no, "channel": channel, "total_fee": total_fee, "title": "白开水", **extra}
    assert (
        invoke("create_bill", api_event("POST", "/bills", body=body, headers={"Authorization": merchant.auth}))[
            "statusCode"
        ]
        == 201
    )
    payload = pay_in_sandbox(sandbox_url, merchant, bill_no)
    assert invoke("callback", webhook_event(merchant, payload))["body"] == "success"


def _refund(merchant, refund_no, bill_no="REFUNDBILL01", refund_fee=400, **headers):
    body = {"refund_no": refund_no, "bill_no": bill_no, "refund_fee": refund_fee}
    return invoke(
        "refund", api_event("POST", "/refunds", body=body, headers={"Authorization": merchant.auth, **headers})
    )


def _bill(merchant, bill_no="REFUNDBILL01"):
    key = {"pk": {"S": f"BILL#{merchant.app_id}#{bill_no}"}}
    return boto3.client("dynamodb").get_item(TableName="orders", Key=key)["Item"]


def test_refund_then_refund_webhook_settles_it_once_with_one_event(merchant, aws, beecloud_sandbox):
    _paid_bill(merchant, beecloud_sandbox.url, channel="ALI_APP")
    aws.published_events()

    number = refund_no("001")
    created = _refund(merchant, number)
    assert created["statusCode"] == 201, created["body"]
    assert body_of(created)["status"] == "pending"
    assert body_of(created)["approval_url"]  # Alipay: the merchant confirms on Alipay's page

    payload = sandbox_webhook(beecloud_sandbox.url, merchant, "REFUND", number)
    for _ in range(3):
        assert invoke("callback", webhook_event(merchant, payload))["body"] == "success"

    refund = body_of(
        invoke(
            "query",
            api_event(
                "GET",
                f"/refunds/{number}",
                resource="/refunds/{refund_no}",
                path_params={"refund_no": number},
                headers={"Authorization": merchant.auth},
            ),
        )
    )
    assert refund["status"] == "succeeded"
    assert int(_bill(merchant)["refunded_fee"]["N"]) == 400
    events = aws.published_events()
    assert {e["detail-type"] for e in events} == {"refund.succeeded"}
    assert len({e["detail"]["event_id"] for e in events}) == 1


def test_wechat_refund_is_settled_by_refresh(merchant, aws, beecloud_sandbox):
    _paid_bill(merchant, beecloud_sandbox.url)
    number = refund_no("002")
    assert _refund(merchant, number)["statusCode"] == 201
    event = api_event(
        "POST",
        f"/refunds/{number}/refresh",
        resource="/refunds/{refund_no}/refresh",
        path_params={"refund_no": number},
        headers={"Authorization": merchant.auth},
    )
    statuses = []
    for _ in range(50):
        result = invoke("refund", event)
        assert result["statusCode"] == 200, result["body"]
        statuses.append(body_of(result)["status"])
        if statuses[-1] != "pending":
            break
    assert statuses[-1] == "succeeded"
    assert [e["detail-type"] for e in aws.published_events() if e["detail-type"].startswith("refund")] == [
        "refund.succeeded"
    ]


def test_only_one_refund_per_bill_and_never_more_than_the_bill(merchant, aws, beecloud_sandbox):
    _paid_bill(merchant, beecloud_sandbox.url)
    too_much = _refund(merchant, refund_no("010"), refund_fee=1001)
    assert (too_much["statusCode"], body_of(too_much)["error"]["code"]) == (409, "refund_exceeds_bill")
    assert _refund(merchant, refund_no("011"))["statusCode"] == 201
    second = _refund(merchant, refund_no("012"), refund_fee=100)
    assert (second["statusCode"], body_of(second)["error"]["code"]) == (409, "refund_in_progress")
    assert int(_bill(merchant)["refund_reserved"]["N"]) == 400


def test_repeat_and_conflict_on_refund_no(merchant, aws, beecloud_sandbox):
    _paid_bill(merchant, beecloud_sandbox.url)
    number = refund_no("020")
    first = _refund(merchant, number)
    again = _refund(merchant, number)
    assert (first["statusCode"], again["statusCode"]) == (201, 200)
    assert body_of(again)["refund_no"] == body_of(first)["refund_no"]
    other = _refund(merchant, number, refund_fee=300)
    assert (other["statusCode"], body_of(other)["error"]["code"]) == (409, "refund_no_conflict")


def test_refund_of_unknown_or_unpaid_bills(merchant, aws, beecloud_sandbox):
    unknown = _refund(merchant, refund_no("030"), bill_no="NOSUCHBILL01")
    assert (unknown["statusCode"], body_of(unknown)["error"]["code"]) == (404, "bill_not_found")
    body = {"bill_no": "UNPAIDBILL01", "channel": "WX_NATIVE", "total_fee": 100, "title": "t"}
    invoke("create_bill", api_event("POST", "/bills", body=body, headers={"Authorization": merchant.auth}))
    unpaid = _refund(merchant, refund_no("031"), bill_no="UNPAIDBILL01", refund_fee=100)
    assert (unpaid["statusCode"], body_of(unpaid)["error"]["code"]) == (409, "bill_not_paid")


@pytest.mark.parametrize("number", ["20000101001", "{today}000", "{today}01", "{today}-01", "{today}" + "1" * 25])
def test_refund_no_must_follow_beecloud_format(merchant, aws, beecloud_sandbox, number):
    _paid_bill(merchant, beecloud_sandbox.url)
    result = _refund(merchant, number.format(today=today_in_china()))
    assert result["statusCode"] == 422, result["body"]
    assert int(_bill(merchant).get("refund_reserved", {"N": "0"})["N"]) == 0


def test_a_refund_whose_outcome_is_unknown_stays_pending_and_reserved(merchant, aws, clean_faults, beecloud_sandbox):
    _paid_bill(merchant, beecloud_sandbox.url)
    add_fault(clean_faults, scope="request", kind="error", path="/1/rest/refund", status=503, count=1)
    number = refund_no("040")
    failed = _refund(merchant, number)
    assert failed["statusCode"] == 502
    # A 5xx may have been executed upstream: the refund stays pending and keeps its reservation.
    assert (
        body_of(
            invoke(
                "query",
                api_event(
                    "GET",
                    f"/refunds/{number}",
                    resource="/refunds/{refund_no}",
                    path_params={"refund_no": number},
                    headers={"Authorization": merchant.auth},
                ),
            )
        )["status"]
        == "pending"
    )
    assert int(_bill(merchant)["refund_reserved"]["N"]) == 400


@pytest.mark.parametrize("channel", ["WX_NATIVE", "UN_APP"])
def test_refresh_resends_a_refund_beecloud_never_received_and_it_settles_once(
    merchant, aws, clean_faults, beecloud_sandbox, channel
):
    # The 503 came before BeeCloud's logic: it has no such refund, so the refund could never settle.
    _paid_bill(merchant, beecloud_sandbox.url, channel=channel)
    add_fault(clean_faults, scope="request", kind="error", path="/1/rest/refund", status=503, count=1)
    number = refund_no("050")
    assert _refund(merchant, number)["statusCode"] == 502
    event = api_event(
        "POST",
        f"/refunds/{number}/refresh",
        resource="/refunds/{refund_no}/refresh",
        path_params={"refund_no": number},
        headers={"Authorization": merchant.auth},
    )
    statuses = []
    for _ in range(50):
        result = invoke("refund", event)
        assert result["statusCode"] == 200, result["body"]
        statuses.append(body_of(result)["status"])
        if statuses[-1] != "pending":
            break
    assert statuses[-1] == "succeeded"
    assert int(_bill(merchant)["refunded_fee"]["N"]) == 400
    state = httpx.get(f"{beecloud_sandbox.url}/_sandbox/bills/{merchant.beecloud_app_id}/REFUNDBILL01").json()
    assert [r["refund_no"] for r in state["refunds"]] == [number]  # sent again, refunded once


def test_a_refund_no_is_checked_at_the_instant_the_request_arrives_and_a_repeat_after_midnight_is_the_same_refund(
    merchant, aws, beecloud_sandbox, monkeypatch
):
    """23:59:59.9 China time: the day's refund_no is accepted; 0.2 s later the day has moved.

    The date is checked once, against the instant the refund is recorded with, so a request that
    arrives before midnight is never refused for a date that moved while it ran; after midnight
    the same refund_no sent again is the same refund (200), never a 422.
    """
    refunds = load_function("refund")
    midnight = next_china_midnight_ms(now_ms()) - DAY_MS  # the sandbox accepts the eve of today (±1 day)
    clock = [midnight - 100]
    monkeypatch.setattr(
        refunds,
        "refund_service",
        lambda: RefundService(orders_store(), beecloud_client(), event_publisher(), clock=lambda: clock[0]),
    )
    _paid_bill(merchant, beecloud_sandbox.url)
    _paid_bill(merchant, beecloud_sandbox.url, bill_no="REFUNDBILL02")
    eve, day = china_date(midnight - 1), china_date(midnight)

    first = _refund(merchant, f"{eve}777")
    assert first["statusCode"] == 201, first["body"]
    assert body_of(first)["created_at"] == iso_from_ms(midnight - 100)

    clock[0] = midnight + 100
    again = _refund(merchant, f"{eve}777")
    assert again["statusCode"] == 200, again["body"]
    assert body_of(again) == body_of(first)
    late = _refund(merchant, f"{eve}778", bill_no="REFUNDBILL02")
    assert (late["statusCode"], body_of(late)["error"]["code"]) == (422, "invalid_refund_no")
    assert day in body_of(late)["error"]["message"]
    assert _refund(merchant, f"{day}778", bill_no="REFUNDBILL02")["statusCode"] == 201


def test_a_refresh_whose_publish_failed_publishes_again_when_asked_again(merchant, aws, beecloud_sandbox, monkeypatch):
    from tests.support.functions import BUS, clear_container_caches

    _paid_bill(merchant, beecloud_sandbox.url)
    number = refund_no("060")
    assert _refund(merchant, number)["statusCode"] == 201
    aws.published_events()
    event = api_event(
        "POST",
        f"/refunds/{number}/refresh",
        resource="/refunds/{refund_no}/refresh",
        path_params={"refund_no": number},
        headers={"Authorization": merchant.auth},
    )
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")  # EventBridge refuses after the settle
    clear_container_caches()
    for _ in range(50):  # WX refunds stay processing a moment in the sandbox
        result = invoke("refund", event)
        if result["statusCode"] != 200:
            break
    assert result["statusCode"] >= 500
    key = {"pk": {"S": f"REFUND#{merchant.app_id}#{number}"}}
    assert boto3.client("dynamodb").get_item(TableName="orders", Key=key)["Item"]["status"]["S"] == "succeeded"

    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    clear_container_caches()
    again = invoke("refund", event)

    assert (again["statusCode"], body_of(again)["status"]) == (200, "succeeded")
    (published,) = [e for e in aws.published_events() if e["detail-type"] == "refund.succeeded"]
    assert published["detail"]["data"]["refund_no"] == number
