"""BeeCloud callbacks against the ledger: nothing moves unless the webhook is authentic, matches
the order, and, when only the legacy `sign` vouches for it, BeeCloud itself confirms it.

Unit level: the real store on moto, the real BeeCloud adapter over a scripted MockTransport."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from paygate.clock import china_date
from paygate.errors import CallbackRejectedError, PaygateError
from paygate.history import DAILY_CAP
from paygate.models import BillStatus, OrderKind, RefundStatus
from paygate.payments.bills import BillService
from paygate.payments.callbacks import BeeCloudCallbacks
from paygate.payments.refunds import RefundService
from paygate.payments.requests import CreateBillRequest, CreateRefundRequest
from paygate.providers import beecloud
from paygate.store.history import OrderHistoryStore
from paygate.store.orders import OrdersStore
from tests.support.services import (
    APP,
    BEECLOUD_CREDS,
    BEECLOUD_OK,
    HISTORY_TABLE,
    LEASE_MS,
    NOW_MS,
    RecordingPublisher,
    Upstream,
    beecloud_bill_answer,
    order_history_store,
    ticking_clock,
)

BILL_NO = "BILL00000001"
REFUND_NO = f"{china_date(NOW_MS)}001"


def md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def webhook(kind: str = "PAY", number: str = BILL_NO, fee: int = 100, channel: str = "WX", *, strong: bool = True
            ) -> dict[str, Any]:  # fmt: skip
    """A BeeCloud webhook; `strong`: with the 2017 `signature` over the fee, else the legacy `sign` only."""
    creds, timestamp = BEECLOUD_CREDS, NOW_MS
    body: dict[str, Any] = {
        "sign": md5(f"{creds.app_id}{creds.app_secret}{timestamp}"),
        "timestamp": timestamp,
        "channel_type": channel,
        "sub_channel_type": f"{channel}_NATIVE",
        "transaction_type": kind,
        "transaction_id": number,
        "transaction_fee": fee,
        "trade_success": True,
        "message_detail": {},
        "optional": {},
    }
    if strong:
        body["signature"] = md5(f"{creds.app_id}{number}{kind}{channel}{fee}{creds.master_secret}")
    return body


@pytest.fixture
def upstream() -> Upstream:
    return Upstream(
        {
            beecloud.BILL_PATH: beecloud_bill_answer,
            beecloud.REFUND_PATH: {**BEECLOUD_OK, "id": "bc-refund"},
            beecloud.BILLS_PATH: {**BEECLOUD_OK, "count": 0, "bills": []},
            beecloud.REFUNDS_PATH: {**BEECLOUD_OK, "count": 0, "refunds": []},
        }
    )


@pytest.fixture
def refunds(orders: OrdersStore, upstream: Upstream, publisher: RecordingPublisher) -> RefundService:
    return RefundService(orders, upstream.beecloud(), publisher, clock=lambda: NOW_MS)  # type: ignore[arg-type]


@pytest.fixture
def callbacks(orders, upstream, publisher, refunds) -> BeeCloudCallbacks:
    """Callbacks for one pending ¥1.00 WX_NATIVE bill."""
    request = CreateBillRequest(bill_no=BILL_NO, channel="WX_NATIVE", total_fee=100, title="白开水")  # type: ignore[arg-type]
    BillService(orders, upstream.beecloud(), publisher, lease_ms=LEASE_MS, clock=lambda: NOW_MS).create(  # type: ignore[arg-type]
        APP, BEECLOUD_CREDS, request
    )
    upstream.requests.clear()
    publisher.events.clear()
    return BeeCloudCallbacks(orders, refunds, publisher, beecloud=upstream.beecloud(), clock=lambda: NOW_MS)  # type: ignore[arg-type]


def _bill_record(paid: bool, fee: int = 100) -> dict[str, Any]:
    return {"bill_no": BILL_NO, "total_fee": fee, "channel": "WX_NATIVE", "title": "白开水", "spay_result": paid,
            "created_time": NOW_MS}  # fmt: skip


def _paid_with_refund(callbacks, orders, refunds) -> None:
    callbacks.handle(APP, BEECLOUD_CREDS, webhook())
    refunds.create(APP, BEECLOUD_CREDS, CreateRefundRequest(refund_no=REFUND_NO, bill_no=BILL_NO, refund_fee=40))


def test_a_strongly_signed_pay_webhook_pays_once_and_a_repeat_republishes_the_same_event(callbacks, orders, publisher):
    first = callbacks.handle(APP, BEECLOUD_CREDS, webhook())
    again = callbacks.handle(APP, BEECLOUD_CREDS, webhook())

    assert (first.outcome, again.outcome) == ("applied", "duplicate")
    assert orders.get_bill(APP.app_id, BILL_NO).status is BillStatus.SUCCEEDED
    assert [e.detail_type for e in publisher.events] == ["bill.succeeded", "bill.succeeded"]
    assert publisher.events[0].event_id == publisher.events[1].event_id


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (webhook(fee=1), "amount mismatch"),
        (webhook(channel="ALI"), "channel mismatch"),
        (webhook(number="BILL99999999"), "unknown bill"),
        (webhook(fee=1, strong=False), "amount mismatch"),
        (webhook(number="BILL99999999", strong=False), "unknown bill"),
    ],
)
def test_a_webhook_that_does_not_match_the_ledger_moves_nothing(callbacks, orders, publisher, payload, reason):
    with pytest.raises(CallbackRejectedError) as rejected:
        callbacks.handle(APP, BEECLOUD_CREDS, payload)

    assert rejected.value.reason == reason
    assert orders.get_bill(APP.app_id, BILL_NO).status is BillStatus.PENDING
    assert publisher.events == []


def test_a_forged_signature_is_rejected(callbacks, orders):
    forged = {**webhook(), "signature": "0" * 32, "sign": "0" * 32}

    with pytest.raises(CallbackRejectedError, match="signature"):
        callbacks.handle(APP, BEECLOUD_CREDS, forged)

    assert orders.get_bill(APP.app_id, BILL_NO).status is BillStatus.PENDING


def test_a_sign_only_pay_webhook_pays_only_once_beecloud_confirms_it(callbacks, orders, upstream):
    with pytest.raises(CallbackRejectedError, match="not confirmed"):
        callbacks.handle(APP, BEECLOUD_CREDS, webhook(strong=False))  # BeeCloud lists nothing paid
    assert orders.get_bill(APP.app_id, BILL_NO).status is BillStatus.PENDING

    upstream.answers[beecloud.BILLS_PATH] = {**BEECLOUD_OK, "count": 1, "bills": [_bill_record(paid=True, fee=99)]}
    with pytest.raises(CallbackRejectedError, match="not confirmed"):
        callbacks.handle(APP, BEECLOUD_CREDS, webhook(strong=False))  # paid, but not in full

    upstream.answers[beecloud.BILLS_PATH] = {**BEECLOUD_OK, "count": 1, "bills": [_bill_record(paid=True)]}
    assert callbacks.handle(APP, BEECLOUD_CREDS, webhook(strong=False)).outcome == "applied"
    assert orders.get_bill(APP.app_id, BILL_NO).status is BillStatus.SUCCEEDED


def test_when_beecloud_cannot_confirm_now_the_webhook_is_retried_not_refused(callbacks, orders, upstream):
    upstream.answers[beecloud.BILLS_PATH] = {"result_code": 14, "result_msg": "RUN_TIME_ERROR", "err_detail": ""}

    with pytest.raises(PaygateError) as failed:  # an error answer: BeeCloud sends the webhook again
        callbacks.handle(APP, BEECLOUD_CREDS, webhook(strong=False))

    assert not isinstance(failed.value, CallbackRejectedError)
    assert failed.value.status >= 500
    assert orders.get_bill(APP.app_id, BILL_NO).status is BillStatus.PENDING


def test_without_a_provider_to_ask_a_sign_only_webhook_is_refused(orders, refunds, publisher, callbacks):
    blind = BeeCloudCallbacks(orders, refunds, publisher, beecloud=None, clock=lambda: NOW_MS)

    with pytest.raises(CallbackRejectedError, match="no provider to confirm"):
        blind.handle(APP, BEECLOUD_CREDS, webhook(strong=False))


def test_a_refund_webhook_settles_the_refund_once(callbacks, orders, refunds):
    _paid_with_refund(callbacks, orders, refunds)

    first = callbacks.handle(APP, BEECLOUD_CREDS, webhook("REFUND", REFUND_NO, 40))
    again = callbacks.handle(APP, BEECLOUD_CREDS, webhook("REFUND", REFUND_NO, 40))

    assert (first.outcome, again.outcome) == ("applied", "duplicate")
    assert orders.get_refund(APP.app_id, REFUND_NO).status is RefundStatus.SUCCEEDED
    assert orders.get_bill(APP.app_id, BILL_NO).refunded_fee == 40


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (webhook("REFUND", REFUND_NO, 41), "amount mismatch"),
        (webhook("REFUND", f"{china_date(NOW_MS)}999", 40), "unknown refund"),
    ],
)
def test_a_refund_webhook_that_does_not_match_moves_nothing(callbacks, orders, refunds, payload, reason):
    _paid_with_refund(callbacks, orders, refunds)

    with pytest.raises(CallbackRejectedError) as rejected:
        callbacks.handle(APP, BEECLOUD_CREDS, payload)

    assert rejected.value.reason == reason
    assert orders.get_refund(APP.app_id, REFUND_NO).status is RefundStatus.PENDING


def test_a_sign_only_refund_webhook_needs_beecloud_to_report_the_refund_finished(callbacks, orders, refunds, upstream):
    _paid_with_refund(callbacks, orders, refunds)
    record = {"bill_no": BILL_NO, "refund_no": REFUND_NO, "total_fee": 100, "refund_fee": 40, "finish": False,
              "result": False, "created_time": NOW_MS, "channel": "WX_NATIVE", "title": "白开水"}  # fmt: skip

    upstream.answers[beecloud.REFUNDS_PATH] = {**BEECLOUD_OK, "count": 1, "refunds": [record]}
    with pytest.raises(CallbackRejectedError, match="not confirmed"):
        callbacks.handle(APP, BEECLOUD_CREDS, webhook("REFUND", REFUND_NO, 40, strong=False))

    upstream.answers[beecloud.REFUNDS_PATH] = {**BEECLOUD_OK, "count": 1, "refunds": [{**record, "finish": True,
                                                                                       "result": True}]}  # fmt: skip
    assert callbacks.handle(APP, BEECLOUD_CREDS, webhook("REFUND", REFUND_NO, 40, strong=False)).outcome == "applied"


def test_a_refund_we_already_failed_cannot_be_made_to_succeed_by_a_webhook(callbacks, orders, refunds):
    _paid_with_refund(callbacks, orders, refunds)
    refunds.settle(orders.get_refund(APP.app_id, REFUND_NO), succeeded=False, failure="refund_failed", by="refresh")

    with pytest.raises(CallbackRejectedError, match="refund is"):
        callbacks.handle(APP, BEECLOUD_CREDS, webhook("REFUND", REFUND_NO, 40))

    assert orders.get_refund(APP.app_id, REFUND_NO).status is RefundStatus.FAILED


def test_a_webhook_for_a_bill_a_refresh_already_settled_is_a_duplicate(callbacks, orders, publisher):
    orders.mark_bill_paid(APP.app_id, BILL_NO, total_fee=100, now_ms=NOW_MS)  # the refresh or follow-up won

    assert callbacks.handle(APP, BEECLOUD_CREDS, webhook()).outcome == "duplicate"
    assert publisher.detail_types == ["bill.succeeded"]  # published again (same id), not applied twice


# ------------------------------------------------------------------ the order's history


@pytest.fixture
def clock() -> Callable[[], int]:
    return ticking_clock()


@pytest.fixture
def history(orders, clock) -> OrderHistoryStore:
    """The history table in the orders table's moto account, on the services' clock."""
    return order_history_store(clock)


def _recorded(orders, upstream, publisher, history, clock) -> BeeCloudCallbacks:
    refunds = RefundService(orders, upstream.beecloud(), publisher, history=history, clock=clock)  # type: ignore[arg-type]
    return BeeCloudCallbacks(orders, refunds, publisher, beecloud=upstream.beecloud(), history=history, clock=clock)  # type: ignore[arg-type]


@pytest.fixture
def recorded(orders, upstream, publisher, history, clock) -> BeeCloudCallbacks:
    """Callbacks that write the history, for one pending ¥1.00 bill whose creation is in it already."""
    bills = BillService(orders, upstream.beecloud(), publisher, lease_ms=LEASE_MS, history=history, clock=clock)  # type: ignore[arg-type]
    request = CreateBillRequest(bill_no=BILL_NO, channel="WX_NATIVE", total_fee=100, title="白开水")  # type: ignore[arg-type]
    bills.create(APP, BEECLOUD_CREDS, request)
    return _recorded(orders, upstream, publisher, history, clock)


def _timeline(history: OrderHistoryStore, number: str = BILL_NO, kind: OrderKind = OrderKind.BILL) -> list[tuple]:
    return [(entry.what, entry.detail) for entry in history.entries(APP.app_id, kind, number)]


def _stored_items() -> int:
    return boto3.client("dynamodb", region_name="us-east-1").scan(TableName=HISTORY_TABLE)["Count"]


CREATED = ("provider.created", {})


def test_an_accepted_webhook_and_its_repeat_are_in_the_bills_history(recorded, history):
    recorded.handle(APP, BEECLOUD_CREDS, webhook())
    recorded.handle(APP, BEECLOUD_CREDS, webhook())

    assert _timeline(history) == [
        CREATED,
        ("callback.accepted", {"source": "beecloud", "outcome": "applied", "changed": True}),
        ("status.succeeded", {"by": "callback"}),
        ("callback.accepted", {"source": "beecloud", "outcome": "duplicate", "changed": False}),
    ]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        pytest.param({**webhook(), "signature": "0" * 32, "sign": "0" * 32}, "signature_mismatch", id="forged"),
        pytest.param(webhook(fee=1), "amount_mismatch", id="amount"),
        pytest.param(webhook(fee=1, strong=False), "amount_mismatch", id="amount-under-a-valid-sign"),
        pytest.param(webhook(channel="ALI"), "channel_mismatch", id="channel"),
    ],
)
def test_a_refused_webhook_for_an_existing_bill_is_in_its_history_with_why(recorded, history, orders, payload, reason):
    with pytest.raises(CallbackRejectedError):
        recorded.handle(APP, BEECLOUD_CREDS, payload)

    assert _timeline(history) == [CREATED, ("callback.refused", {"source": "beecloud", "reason": reason})]
    assert orders.get_bill(APP.app_id, BILL_NO).status is BillStatus.PENDING


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(webhook(number="BILL99999999"), id="signed"),
        pytest.param(webhook(number="BILL99999999", strong=False), id="sign-only"),
        pytest.param({**webhook(number="BILL99999999"), "signature": "0" * 32, "sign": "0" * 32}, id="forged"),
        pytest.param({**webhook(number="BILL99999999"), "trade_success": False}, id="not-paid"),
        pytest.param({**webhook(), "transaction_id": "B" * 5000, "signature": "0" * 32}, id="absurd-number"),
    ],
)
def test_a_webhook_naming_a_bill_we_never_recorded_leaves_no_history(recorded, history, payload):
    with contextlib.suppress(CallbackRejectedError):
        recorded.handle(APP, BEECLOUD_CREDS, payload)

    assert _timeline(history, "BILL99999999") == []
    assert _stored_items() == 1  # the real bill's creation, and nothing else: no row, no counter


def test_refused_webhooks_for_one_bill_stop_at_the_daily_cap(recorded, history):
    forged = {**webhook(), "signature": "0" * 32, "sign": "0" * 32}
    for _ in range(DAILY_CAP + 5):
        with pytest.raises(CallbackRejectedError):
            recorded.handle(APP, BEECLOUD_CREDS, forged)

    assert [what for what, _ in _timeline(history)] == ["provider.created"] + ["callback.refused"] * DAILY_CAP


def test_a_webhook_that_is_not_a_payment_is_noted_for_its_bill(recorded, history):
    assert recorded.handle(APP, BEECLOUD_CREDS, {**webhook(), "trade_success": False}).outcome == "ignored"

    assert _timeline(history)[-1] == (
        "callback.accepted",
        {"source": "beecloud", "outcome": "ignored", "changed": False},
    )


def test_a_refund_webhook_is_in_the_refunds_history(recorded, history, orders, upstream, publisher, clock):
    recorded.handle(APP, BEECLOUD_CREDS, webhook())
    refunds = RefundService(orders, upstream.beecloud(), publisher, history=history, clock=clock)  # type: ignore[arg-type]
    refunds.create(APP, BEECLOUD_CREDS, CreateRefundRequest(refund_no=REFUND_NO, bill_no=BILL_NO, refund_fee=40))

    with pytest.raises(CallbackRejectedError):
        recorded.handle(APP, BEECLOUD_CREDS, webhook("REFUND", REFUND_NO, 41))
    recorded.handle(APP, BEECLOUD_CREDS, webhook("REFUND", REFUND_NO, 40))

    assert _timeline(history, REFUND_NO, OrderKind.REFUND) == [
        CREATED,
        ("callback.refused", {"source": "beecloud", "reason": "amount_mismatch"}),
        ("callback.accepted", {"source": "beecloud", "outcome": "applied", "changed": True}),
        ("status.succeeded", {"by": "callback"}),
    ]


def test_a_history_that_cannot_be_written_never_fails_a_webhook(orders, upstream, publisher, clock, callbacks):
    broken = OrderHistoryStore(boto3.client("dynamodb", region_name="us-east-1"), "no-such-table", clock=clock)
    recorder = _recorded(orders, upstream, publisher, broken, clock)

    with pytest.raises(CallbackRejectedError) as refused:
        recorder.handle(APP, BEECLOUD_CREDS, webhook(fee=1))
    paid = recorder.handle(APP, BEECLOUD_CREDS, webhook())
    again = recorder.handle(APP, BEECLOUD_CREDS, webhook())

    assert refused.value.reason == "amount mismatch"  # refused as before, for the same reason
    assert (paid.outcome, again.outcome) == ("applied", "duplicate")
    assert orders.get_bill(APP.app_id, BILL_NO).status is BillStatus.SUCCEEDED
    assert publisher.detail_types == ["bill.succeeded", "bill.succeeded"]
