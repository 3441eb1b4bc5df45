"""Refunds through the handler, the BeeCloud sandbox and moto's DynamoDB transactions."""

from __future__ import annotations

import boto3
import httpx
import pytest

from paygate.clock import china_date, now_ms
from tests.functions.conftest import (
    add_fault,
    api_event,
    body_of,
    invoke,
    pay_in_sandbox,
    sandbox_webhook,
    webhook_event,
)

TODAY = china_date(now_ms())


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

    created = _refund(merchant, f"{TODAY}001")
    assert created["statusCode"] == 201, created["body"]
    assert body_of(created)["status"] == "pending"
    assert body_of(created)["approval_url"]  # Alipay: the merchant confirms on Alipay's page

    payload = sandbox_webhook(beecloud_sandbox.url, merchant, "REFUND", f"{TODAY}001")
    for _ in range(3):
        assert invoke("callback", webhook_event(merchant, payload))["body"] == "success"

    refund = body_of(
        invoke(
            "query",
            api_event(
                "GET",
                f"/refunds/{TODAY}001",
                resource="/refunds/{refund_no}",
                path_params={"refund_no": f"{TODAY}001"},
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
    assert _refund(merchant, f"{TODAY}002")["statusCode"] == 201
    event = api_event(
        "POST",
        f"/refunds/{TODAY}002/refresh",
        resource="/refunds/{refund_no}/refresh",
        path_params={"refund_no": f"{TODAY}002"},
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
    too_much = _refund(merchant, f"{TODAY}010", refund_fee=1001)
    assert (too_much["statusCode"], body_of(too_much)["error"]["code"]) == (409, "refund_exceeds_bill")
    assert _refund(merchant, f"{TODAY}011")["statusCode"] == 201
    second = _refund(merchant, f"{TODAY}012", refund_fee=100)
    assert (second["statusCode"], body_of(second)["error"]["code"]) == (409, "refund_in_progress")
    assert int(_bill(merchant)["refund_reserved"]["N"]) == 400


def test_repeat_and_conflict_on_refund_no(merchant, aws, beecloud_sandbox):
    _paid_bill(merchant, beecloud_sandbox.url)
    first = _refund(merchant, f"{TODAY}020")
    again = _refund(merchant, f"{TODAY}020")
    assert (first["statusCode"], again["statusCode"]) == (201, 200)
    assert body_of(again)["refund_no"] == body_of(first)["refund_no"]
    other = _refund(merchant, f"{TODAY}020", refund_fee=300)
    assert (other["statusCode"], body_of(other)["error"]["code"]) == (409, "refund_no_conflict")


def test_refund_of_unknown_or_unpaid_bills(merchant, aws, beecloud_sandbox):
    unknown = _refund(merchant, f"{TODAY}030", bill_no="NOSUCHBILL01")
    assert (unknown["statusCode"], body_of(unknown)["error"]["code"]) == (404, "bill_not_found")
    body = {"bill_no": "UNPAIDBILL01", "channel": "WX_NATIVE", "total_fee": 100, "title": "t"}
    invoke("create_bill", api_event("POST", "/bills", body=body, headers={"Authorization": merchant.auth}))
    unpaid = _refund(merchant, f"{TODAY}031", bill_no="UNPAIDBILL01", refund_fee=100)
    assert (unpaid["statusCode"], body_of(unpaid)["error"]["code"]) == (409, "bill_not_paid")


@pytest.mark.parametrize(
    "refund_no",
    ["20000101001", f"{TODAY}000", f"{TODAY}01", f"{TODAY}-01", f"{TODAY}" + "1" * 25],
)
def test_refund_no_must_follow_beecloud_format(merchant, aws, beecloud_sandbox, refund_no):
    _paid_bill(merchant, beecloud_sandbox.url)
    result = _refund(merchant, refund_no)
    assert result["statusCode"] == 422, result["body"]
    assert int(_bill(merchant).get("refund_reserved", {"N": "0"})["N"]) == 0


def test_a_refund_whose_outcome_is_unknown_stays_pending_and_reserved(merchant, aws, clean_faults, beecloud_sandbox):
    _paid_bill(merchant, beecloud_sandbox.url)
    add_fault(clean_faults, scope="request", kind="error", path="/1/rest/refund", status=503, count=1)
    failed = _refund(merchant, f"{TODAY}040")
    assert failed["statusCode"] == 502
    # A 5xx may have been executed upstream: the refund stays pending and keeps its reservation.
    assert (
        body_of(
            invoke(
                "query",
                api_event(
                    "GET",
                    f"/refunds/{TODAY}040",
                    resource="/refunds/{refund_no}",
                    path_params={"refund_no": f"{TODAY}040"},
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
    assert _refund(merchant, f"{TODAY}050")["statusCode"] == 502
    event = api_event(
        "POST",
        f"/refunds/{TODAY}050/refresh",
        resource="/refunds/{refund_no}/refresh",
        path_params={"refund_no": f"{TODAY}050"},
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
    assert [r["refund_no"] for r in state["refunds"]] == [f"{TODAY}050"]  # sent again, refunded once


def test_a_refresh_whose_publish_failed_publishes_again_when_asked_again(merchant, aws, beecloud_sandbox, monkeypatch):
    from tests.functions.conftest import BUS, _clear_container_caches

    _paid_bill(merchant, beecloud_sandbox.url)
    refund_no = f"{china_date(now_ms())}060"
    assert _refund(merchant, refund_no)["statusCode"] == 201
    aws.published_events()
    event = api_event(
        "POST",
        f"/refunds/{refund_no}/refresh",
        resource="/refunds/{refund_no}/refresh",
        path_params={"refund_no": refund_no},
        headers={"Authorization": merchant.auth},
    )
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")  # EventBridge refuses after the settle
    _clear_container_caches()
    for _ in range(50):  # WX refunds stay processing a moment in the sandbox
        result = invoke("refund", event)
        if result["statusCode"] != 200:
            break
    assert result["statusCode"] >= 500
    key = {"pk": {"S": f"REFUND#{merchant.app_id}#{refund_no}"}}
    assert boto3.client("dynamodb").get_item(TableName="orders", Key=key)["Item"]["status"]["S"] == "succeeded"

    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    _clear_container_caches()
    again = invoke("refund", event)

    assert (again["statusCode"], body_of(again)["status"]) == (200, "succeeded")
    (published,) = [e for e in aws.published_events() if e["detail-type"] == "refund.succeeded"]
    assert published["detail"]["data"]["refund_no"] == refund_no
