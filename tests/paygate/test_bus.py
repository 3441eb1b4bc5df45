"""The publisher: an order's event goes into that order's history once EventBridge took it, and only then."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from paygate.bus import EventPublisher, PublishError
from paygate.events import (
    Mismatch,
    MismatchKind,
    bill_succeeded,
    checkout_session_event,
    reconciliation_mismatch,
    transfer_event,
)
from paygate.history import EVENT_PUBLISHED
from paygate.models import (
    Bill,
    BillStatus,
    Channel,
    CheckoutSession,
    CheckoutStatus,
    OrderKind,
    Payout,
    ProviderState,
    TransferStatus,
)
from paygate.store.history import OrderHistoryStore
from tests.support.services import APP, HISTORY_TABLE, NOW_MS, order_history_store, ticking_clock

BILL = Bill(
    app_id=APP.app_id, bill_no="BILL00000001", channel=Channel.WX_NATIVE, total_fee=100, title="t",
    status=BillStatus.SUCCEEDED, request_hash="h", provider_state=ProviderState.CREATED.value,
    created_at_ms=NOW_MS, updated_at_ms=NOW_MS, paid_at_ms=NOW_MS,
)  # fmt: skip
PAYOUT = Payout(
    app_id=APP.app_id, out_order_no="PO-1", amount=1000, status=TransferStatus.UNKNOWN,
    provider_state=ProviderState.UNKNOWN.value, request_hash="h", created_at_ms=NOW_MS, updated_at_ms=NOW_MS,
    account_type="Card", account_last4="1234", account_owner="A", bank_code="SBIN", ifsc="SBIN0001234",
)  # fmt: skip


class Events:
    """EventBridge's PutEvents: takes every entry, or refuses the first one."""

    def __init__(self) -> None:
        self.refuse = False
        self.sent: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.sent.extend(Entries)
        if self.refuse:
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(n)} for n, _ in enumerate(Entries)]}


@pytest.fixture
def history() -> Iterator[OrderHistoryStore]:
    with mock_aws():
        yield order_history_store(ticking_clock())


def test_each_published_order_event_is_in_its_orders_history(history):
    events = Events()
    publisher = EventPublisher(events, "bus", history)
    succeeded, unknown = bill_succeeded(BILL), transfer_event(PAYOUT)

    publisher.publish(succeeded, unknown)

    [bill_entry] = history.entries(APP.app_id, OrderKind.BILL, "BILL00000001")
    [payout_entry] = history.entries(APP.app_id, OrderKind.PAYOUT, "PO-1")
    assert (bill_entry.what, bill_entry.detail) == (
        EVENT_PUBLISHED,
        {"event_type": "bill.succeeded", "event_id": succeeded.event_id},
    )
    assert payout_entry.detail == {"event_type": "payout.unknown", "event_id": unknown.event_id}


def test_an_event_eventbridge_refused_is_not_in_the_history(history):
    events = Events()
    events.refuse = True

    with pytest.raises(PublishError):
        EventPublisher(events, "bus", history).publish(bill_succeeded(BILL))

    assert history.entries(APP.app_id, OrderKind.BILL, "BILL00000001") == []


def test_a_checkout_sessions_event_belongs_to_no_order(history):
    session = CheckoutSession(
        app_id=APP.app_id, session_id="cs_1", url="https://pay.example/x", total_fee=100, title="t",
        channels=["WX_NATIVE"], return_url="https://shop.example/r", status=CheckoutStatus.EXPIRED,
        request_hash="h", created_at_ms=NOW_MS, expires_at_ms=NOW_MS,
    )  # fmt: skip
    event = checkout_session_event(session)
    assert event is not None

    EventPublisher(Events(), "bus", history).publish(event)

    assert event.subject is None
    assert boto3.client("dynamodb", region_name="us-east-1").scan(TableName=HISTORY_TABLE)["Count"] == 0


def _mismatch(kind: MismatchKind) -> Mismatch:
    return Mismatch(APP.app_id, "beecloud", "bill", "BILL00000001", kind, "pending", "paid", 100, 99, "differs")


def test_a_mismatch_is_in_the_history_of_the_order_the_ledger_has_and_of_no_other(history):
    found = _mismatch(MismatchKind.AMOUNT_DIFFERS)
    stranger = _mismatch(MismatchKind.MISSING_IN_LEDGER)
    events = [
        reconciliation_mismatch(APP.app_id, m.key, NOW_MS, {"run_id": "r", **m.to_json()}) for m in (found, stranger)
    ]

    EventPublisher(Events(), "bus", history).publish(*events)

    [entry] = history.entries(APP.app_id, OrderKind.BILL, "BILL00000001")
    assert entry.detail == {"event_type": "reconciliation.mismatch", "event_id": events[0].event_id}
