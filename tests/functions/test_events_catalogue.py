"""Every file in events/ fed to its function, as `sam local invoke -e events/<file>` would.

The files carry a placeholder API key and fixed order numbers; a user replaces the key, this
test does the same, then walks the files in the order a merchant would use them.
"""

from __future__ import annotations

import json

import pytest

from tests.support.clock import refund_no
from tests.support.functions import (
    EVENTS_DIR,
    beilypay_notify_event,
    invoke,
    load_event,
    pay_in_sandbox,
    webhook_event,
)
from tests.support.template import template

pytestmark = pytest.mark.clock  # dates: run under shifted clocks by `make test-clock`

FUNCTION_OF = {
    "create_bill": "create_bill",
    "refresh_bill": "create_bill",
    "get_bill": "query",
    "list_bills": "query",
    "create_refund": "refund",
    "refresh_refund": "refund",
    "get_refund": "query",
    "list_refunds": "query",
    "beecloud_webhook": "callback",
    "create_payout": "payout",
    "get_payout": "query",
    "list_payouts": "query",
    "create_collection": "collect",
    "get_collection": "query",
    "list_collections": "query",
    "get_balance": "query",
    "beilypay_notify": "callback",
    "poll_pending": "poll_pending",  # the state machine's task input, not an API event
    "bill_follow_up_sqs": "bill_follow_up",  # a BillFollowUpQueue batch, not an API event
    "first_poll_sqs": "first_poll",  # a FirstPollQueue batch, not an API event
    # Webhooks: driven by tests/functions/webhook_endpoints/test_events.py
    "create_webhook_endpoint": "webhook_endpoints",
    "list_webhook_endpoints": "webhook_endpoints",
    "get_webhook_endpoint": "webhook_endpoints",
    "delete_webhook_endpoint": "webhook_endpoints",
    "rotate_webhook_secret": "webhook_endpoints",
    "list_webhook_deliveries": "webhook_endpoints",
    "resend_event": "webhook_endpoints",
    "webhook_dispatcher_sqs": "webhook_dispatcher",  # an SQS batch (fan-out + delivery), not an API event
    "reconcile": "reconcile",  # the daily schedule's input; driven by tests/functions/reconcile/
    "authorize_request": "authorize",  # API Gateway's call to the authorizer; driven by tests/functions/authorize/
    "create_checkout_session": "checkout",
    "get_checkout_session": "checkout",
}
NOT_API_EVENTS = {
    "poll_pending",
    "bill_follow_up_sqs",
    "first_poll_sqs",
    "webhook_dispatcher_sqs",
    "reconcile",
    "authorize_request",
}
# The refund_no in the catalogue: written on 2026-11-25, so it needs today's date to be accepted.
CATALOGUE_REFUND_NO = "20261125001"


def _as_user(merchant, name, todays_refund_no=None):
    """The catalogue's event as a merchant would send it today: their key, today's refund_no.

    Only refund_no carries a date BeeCloud checks (China time), so only it is rewritten, in every
    place it appears, to the one number the caller chose for the whole refund (a date computed
    per event would move at midnight between creating the refund and reading it back);
    everything else (bill_no, out_order_no) is read back from the same event.
    """
    event = load_event(name)
    if "Authorization" in event["headers"]:
        event["headers"]["Authorization"] = merchant.auth
        event["multiValueHeaders"]["Authorization"] = [merchant.auth]
    if todays_refund_no is None:
        return event
    if event.get("body"):
        body = json.loads(event["body"])
        if body.get("refund_no") == CATALOGUE_REFUND_NO:
            body["refund_no"] = todays_refund_no
            event["body"] = json.dumps(body, ensure_ascii=False)
    if (event.get("pathParameters") or {}).get("refund_no") == CATALOGUE_REFUND_NO:
        event["pathParameters"]["refund_no"] = todays_refund_no
        event["path"] = event["path"].replace(CATALOGUE_REFUND_NO, todays_refund_no)
        event["requestContext"]["path"] = event["requestContext"]["path"].replace(CATALOGUE_REFUND_NO, todays_refund_no)
    return event


def test_every_events_file_has_a_function_and_a_route_in_the_template():
    assert {p.stem for p in EVENTS_DIR.glob("*.json")} == set(FUNCTION_OF)
    routes = {
        (e["Properties"]["Method"].upper(), e["Properties"]["Path"])
        for r in template()["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
        for e in r["Properties"].get("Events", {}).values()
        if e["Type"] == "Api"
    }
    for name in set(FUNCTION_OF) - NOT_API_EVENTS:
        event = load_event(name)
        assert (event["httpMethod"], event["resource"]) in routes, name


def test_the_catalogue_drives_a_whole_bill_and_refund(merchant, aws, beecloud_sandbox, follow_up_queue):
    statuses = {}
    for name in ("create_bill", "get_bill", "list_bills", "refresh_bill"):
        statuses[name] = invoke(FUNCTION_OF[name], _as_user(merchant, name))["statusCode"]
    assert statuses == {"create_bill": 201, "get_bill": 200, "list_bills": 200, "refresh_bill": 200}

    bill_no = json.loads(_as_user(merchant, "create_bill")["body"])["bill_no"]
    signed = pay_in_sandbox(beecloud_sandbox.url, merchant, bill_no)
    # The catalogue's webhook carries a placeholder sign: as-is it must be refused...
    webhook = _as_user(merchant, "beecloud_webhook")
    webhook["pathParameters"] = {"app_id": merchant.app_id}
    assert invoke("callback", webhook)["statusCode"] == 400
    # ...and with the sandbox's real signature it is accepted.
    assert invoke("callback", webhook_event(merchant, signed))["body"] == "success"
    # The bill's follow-up, as its queue delivers it (for the merchant's app): final, nothing to do.
    follow_up = load_event("bill_follow_up_sqs")
    body = json.loads(follow_up["Records"][0]["body"])
    assert body["bill_no"] == bill_no
    follow_up["Records"][0]["body"] = json.dumps({**body, "app_id": merchant.app_id})
    assert invoke(FUNCTION_OF["bill_follow_up_sqs"], follow_up) == {"batchItemFailures": []}

    number = refund_no(CATALOGUE_REFUND_NO[8:])
    for name, expected in (("create_refund", 201), ("get_refund", 200), ("refresh_refund", 200), ("list_refunds", 200)):
        result = invoke(FUNCTION_OF[name], _as_user(merchant, name, number))
        assert result["statusCode"] == expected, (name, result["body"])


def test_the_catalogue_drives_a_payout_a_collection_and_the_balance(beilypay, aws):
    statuses = {}
    for name in ("create_payout", "get_payout", "list_payouts", "create_collection", "get_collection"):
        statuses[name] = invoke(FUNCTION_OF[name], _as_user(beilypay, name))["statusCode"]
    for name in ("list_collections", "get_balance"):
        statuses[name] = invoke(FUNCTION_OF[name], _as_user(beilypay, name))["statusCode"]
    assert statuses == {
        "create_payout": 201,
        "get_payout": 200,
        "list_payouts": 200,
        "create_collection": 201,
        "get_collection": 200,
        "list_collections": 200,
        "get_balance": 200,
    }

    out_order_no = json.loads(_as_user(beilypay, "create_payout")["body"])["out_order_no"]
    order_no = beilypay.sandbox_order(out_order_no)["orderNo"]
    # The catalogue's notify carries a placeholder sign and other ids: as-is it must be refused...
    notify = _as_user(beilypay, "beilypay_notify")
    notify.update(path=f"/callbacks/beilypay/{beilypay.app_id}", pathParameters={"app_id": beilypay.app_id})
    assert invoke("callback", notify)["statusCode"] == 400
    # ...and the sandbox's real signed notify is accepted.
    assert "SUCC" in invoke("callback", beilypay_notify_event(beilypay, beilypay.notify_body(order_no)))["body"]

    poll = load_event("poll_pending") | {"app_id": beilypay.app_id, "deadline_ms": 4_102_444_800_000}
    assert invoke("poll_pending", poll)["status"] == "succeeded"
    # The payout's first poll, as its queue delivers it (for the merchant's app): final, no state machine.
    first_poll = load_event("first_poll_sqs")
    body = json.loads(first_poll["Records"][0]["body"])
    assert body["out_order_no"] == out_order_no
    first_poll["Records"][0]["body"] = json.dumps({**body, "app_id": beilypay.app_id, "deadline_ms": 4_102_444_800_000})
    assert invoke(FUNCTION_OF["first_poll_sqs"], first_poll) == {"batchItemFailures": []}
    assert [e["name"] for e in beilypay.executions() if e["name"].endswith(out_order_no)] == [
        f"payout-{beilypay.app_id}-{out_order_no}"
    ]  # the one the create started (this environment has no first-poll queue)


def test_the_catalogue_drives_a_checkout_session(merchant, aws):
    created = invoke("checkout", _as_user(merchant, "create_checkout_session"))
    assert created["statusCode"] == 201, created["body"]
    session_id = json.loads(created["body"])["id"]

    read = _as_user(merchant, "get_checkout_session")
    read["pathParameters"] = {"session_id": session_id}
    read["path"] = read["requestContext"]["path"] = f"/checkout/sessions/{session_id}"
    answer = invoke("checkout", read)
    assert answer["statusCode"] == 200, answer["body"]
    assert json.loads(answer["body"])["title"] == "测试订单"
