"""The ``/_sandbox`` page: finish payouts and collections as BeilyPay would, and resend notifies."""

from __future__ import annotations

from decimal import Decimal

from tests.sandbox.beilypay.beilypay_support import BALANCE, Sandbox, verify_seed_sign
from tests.support.sandbox_page import SandboxPage


def test_a_manual_payout_succeeds_from_the_page_and_its_notify_is_sent(sandbox: Sandbox):
    order_no = sandbox.create_payout("PAGE-PO-1", account="123456789999")["data"]["orderNo"]  # stays pending
    page = SandboxPage.open(sandbox.client)
    row = page.row(kind="payout", key=order_no)

    assert row.cells[1:6] == [order_no, "PAGE-PO-1", "INR 123.45", "", "pending"]
    assert page.labels(kind="payout", key=order_no) == ["Succeed", "Fail"]

    after = page.press("Succeed", kind="payout", key=order_no)

    assert after.flash == {"done": f"payout {order_no} succeeded"}
    assert after.row(kind="payout", key=order_no).cells[5] == "success"
    assert after.labels(kind="payout", key=order_no) == []
    (notify,) = sandbox.wait_attempts(order_no, 1)
    assert (notify["body"]["status"], notify["acked"]) == (2, True)
    assert verify_seed_sign(notify["body"])


def test_a_failed_payout_returns_its_amount_and_a_failed_collection_pays_nothing(sandbox: Sandbox):
    payout = sandbox.create_payout("PAGE-PO-2", account="123456789999")["data"]["orderNo"]
    collection = sandbox.create_collection("PAGE-CO-1")["data"]["orderNo"]
    page = SandboxPage.open(sandbox.client)

    page = page.press("Fail", kind="payout", key=payout)
    page = page.press("Fail", kind="collection", key=collection)

    assert sandbox.order_state(payout)["status"] == 3
    assert sandbox.order_state(collection)["status"] == 3
    assert sandbox.order_state(collection)["paid"] in (None, 0)
    assert Decimal(str(sandbox.balance())) * 100 == BALANCE  # the failed payout's amount came back
    assert page.row(kind="collection", key=collection).cells[5] == "failed"


def test_a_collection_paid_from_the_page_is_paid_in_full(sandbox: Sandbox):
    collection = sandbox.create_collection("PAGE-CO-2")["data"]["orderNo"]

    SandboxPage.open(sandbox.client).press("Succeed", kind="collection", key=collection)

    state = sandbox.order_state(collection)
    assert (state["status"], state["paid"]) == (2, state["payAmount"])
    (notify,) = sandbox.wait_attempts(collection, 1)
    assert verify_seed_sign(notify["body"])


def test_redeliver_resends_a_notify_as_signed(sandbox: Sandbox):
    order_no = sandbox.create_collection("PAGE-CO-3")["data"]["orderNo"]
    SandboxPage.open(sandbox.client).press("Succeed", kind="collection", key=order_no)
    (first,) = sandbox.wait_attempts(order_no, 1)
    page = SandboxPage.open(sandbox.client)

    after = page.press("Redeliver", delivery=first["delivery_id"])

    assert after.flash["done"].startswith(f"notification {first['delivery_id']} sent again as ")
    again = sandbox.wait_attempts(order_no, 2)[1]
    assert again["delivery_id"] != first["delivery_id"]
    assert again["body"] == first["body"]


def test_finishing_a_finished_order_says_so(sandbox: Sandbox):
    order_no = sandbox.create_payout("PAGE-PO-3", account="123456789999")["data"]["orderNo"]
    page = SandboxPage.open(sandbox.client)
    assert sandbox.client.post(f"/_sandbox/payouts/{order_no}/complete", json={"status": 2}).status_code == 200

    after = page.press("Fail", kind="payout", key=order_no)

    assert after.flash == {"error": f"payout {order_no} already finished as success"}
    assert sandbox.order_state(order_no)["status"] == 2
