"""TransferLedger and TransfersStore: every transition is one conditional write, every report one event.

Unit level: the real store on moto's DynamoDB (the template's table definition), an in-memory
publisher, a fixed clock.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from paygate.bus import PublishError
from paygate.events import DomainEvent
from paygate.models import OrderKind, Payout, ProviderState, TransferStatus
from paygate.store.orders import TransitionRejectedError
from paygate.store.transfers import TransfersStore
from paygate.transfers.ledger import SettlementConflictError, TransferLedger
from tests.support.template import table_definitions

APP = "app_0123456789abcdef"
NOW = 1_795_599_000_000


class Publisher:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self.fail = False

    def publish(self, *events: DomainEvent) -> None:
        if self.fail:
            raise PublishError("EventBridge said no")
        self.events.extend(events)


@pytest.fixture
def store() -> Iterator[TransfersStore]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="orders", **table_definitions()["OrdersTable"])
        yield TransfersStore(client, "orders")


@pytest.fixture
def publisher() -> Publisher:
    return Publisher()


@pytest.fixture
def ledger(store: TransfersStore, publisher: Publisher) -> TransferLedger:
    return TransferLedger(store, publisher, clock=lambda: NOW)  # type: ignore[arg-type]


def _new(store: TransfersStore, no: str = "PO-1", state: ProviderState = ProviderState.CREATED) -> Payout:
    payout = Payout(
        app_id=APP, out_order_no=no, amount=1000, account_type="Card", account_last4="1234", account_owner="A",
        bank_code="SBIN", ifsc="SBIN0001234", status=TransferStatus.PENDING, provider_state=state.value,
        provider_order_no="B-1" if state is ProviderState.CREATED else None, request_hash="h",
        lease_until_ms=NOW + 30_000, created_at_ms=NOW, updated_at_ms=NOW,
    )  # fmt: skip
    store.put_new_transfer(OrderKind.PAYOUT, payout)
    return payout


def _settle(ledger: TransferLedger, *, succeeded: bool = True, order_no: str = "B-1", amount: int = 1000):
    return ledger.settle(
        OrderKind.PAYOUT, APP, "PO-1", succeeded=succeeded, provider_order_no=order_no, amount=amount, by="callback"
    )


def test_settling_applies_once_and_publishes_once(store, ledger, publisher):
    _new(store)

    first = _settle(ledger)
    again = _settle(ledger)

    assert (first.applied, again.applied) == (True, False)
    assert first.transfer.status is TransferStatus.SUCCEEDED
    assert [e.detail_type for e in publisher.events] == ["payout.succeeded"]
    assert store.get_transfer(OrderKind.PAYOUT, APP, "PO-1").published_event == "payout.succeeded"


def test_a_duplicate_republishes_when_the_first_publish_failed(store, ledger, publisher):
    _new(store)
    publisher.fail = True
    with pytest.raises(PublishError):
        _settle(ledger)
    publisher.fail = False

    again = _settle(ledger)

    assert again.applied is False
    assert [e.detail_type for e in publisher.events] == ["payout.succeeded"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"succeeded": False}, "is succeeded"),
        ({"order_no": "B-2"}, "orderNo mismatch"),
        ({"amount": 999}, "amount mismatch"),
    ],
)
def test_a_different_outcome_after_settlement_is_a_conflict(store, ledger, publisher, changes, reason):
    _new(store)
    _settle(ledger)

    with pytest.raises(SettlementConflictError, match=reason):
        _settle(ledger, **changes)
    assert len(publisher.events) == 1


def test_a_pending_payout_is_not_settled_for_another_order_or_amount(store, ledger, publisher):
    _new(store)
    for changes in ({"order_no": "B-2"}, {"amount": 1}):
        with pytest.raises(SettlementConflictError):
            _settle(ledger, **changes)
    assert store.get_transfer(OrderKind.PAYOUT, APP, "PO-1").status is TransferStatus.PENDING
    assert publisher.events == []


def test_an_unknown_order_is_a_conflict(ledger):
    with pytest.raises(SettlementConflictError, match="unknown payout"):
        _settle(ledger)


def test_unknown_is_reported_and_can_still_be_settled(store, ledger, publisher):
    _new(store)

    marked = ledger.mark_unknown(OrderKind.PAYOUT, APP, "PO-1", expected="created", reason="poll_deadline", by="poller")
    settled = _settle(ledger)

    assert marked.status is TransferStatus.UNKNOWN
    assert settled.applied is True
    assert [e.detail_type for e in publisher.events] == ["payout.unknown", "payout.succeeded"]
    assert len({e.event_id for e in publisher.events}) == 2


def test_mark_unknown_needs_the_observed_provider_state(store, ledger, publisher):
    _new(store, state=ProviderState.CALLING)

    wrong = ledger.mark_unknown(OrderKind.PAYOUT, APP, "PO-1", expected="created", reason="poll_deadline", by="poller")
    not_stale = ledger.mark_unknown(
        OrderKind.PAYOUT, APP, "PO-1", expected="stale", reason="create_interrupted", by="poller"
    )
    lost = ledger.mark_unknown(OrderKind.PAYOUT, APP, "PO-1", expected="calling", reason="create_timeout", by="poller")

    assert (wrong.status, not_stale.status) == (TransferStatus.PENDING, TransferStatus.PENDING)
    assert (lost.status, lost.provider_state, lost.unknown_reason) == (
        TransferStatus.UNKNOWN,
        ProviderState.UNKNOWN.value,
        "create_timeout",
    )
    assert [e.detail_type for e in publisher.events] == ["payout.unknown"]


def test_a_rejected_payout_can_never_be_settled(store, ledger, publisher):
    _new(store, state=ProviderState.CALLING)
    store.record_rejected(OrderKind.PAYOUT, APP, "PO-1", code="channel_error", message="no", now_ms=NOW)

    with pytest.raises(SettlementConflictError):
        _settle(ledger)
    assert publisher.events == []


def test_a_notify_before_the_create_answer_wins_and_the_answer_is_then_refused(store, ledger):
    _new(store, state=ProviderState.CALLING)
    _settle(ledger)  # BeilyPay's notify raced its own create answer

    with pytest.raises(TransitionRejectedError):
        store.record_created(OrderKind.PAYOUT, APP, "PO-1", provider_order_no="B-1", now_ms=NOW)
    stored = store.get_transfer(OrderKind.PAYOUT, APP, "PO-1")
    assert (stored.status, stored.provider_order_no) == (TransferStatus.SUCCEEDED, "B-1")


def test_the_same_number_twice_is_refused_with_what_is_stored(store):
    from paygate.store.orders import AlreadyExistsError

    _new(store)
    with pytest.raises(AlreadyExistsError) as exists:
        _new(store)
    assert exists.value.existing["out_order_no"] == "PO-1"
