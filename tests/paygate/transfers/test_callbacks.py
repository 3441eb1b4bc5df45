"""BeilyPay notifies against the ledger: signed, for an order we recorded, with BeilyPay's own
order number and the amount we asked for; anything else moves nothing.

Unit level: a payout created through PayoutService (moto store, scripted BeilyPay), then notifies
signed with the merchant's secret as BeilyPay signs them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from bench.samples import collection_body, payout_body
from paygate.errors import CallbackRejectedError
from paygate.history import DAILY_CAP
from paygate.models import OrderKind, TransferStatus
from paygate.providers import beilypay
from paygate.store.history import OrderHistoryStore
from paygate.store.transfers import TransfersStore
from paygate.transfers.callbacks import BeilyPayCallbacks
from paygate.transfers.collections import CollectionService
from paygate.transfers.ledger import TransferLedger
from paygate.transfers.payouts import PayoutService
from paygate.transfers.requests import CreateCollectionRequest, CreatePayoutRequest
from tests.support.services import (
    APP,
    BEILYPAY_CREDS,
    HISTORY_TABLE,
    LEASE_MS,
    NOW_MS,
    RecordingStarter,
    Upstream,
    beilypay_payment_answer,
    beilypay_trans_answer,
    no_sleep,
    order_history_store,
    ticking_clock,
)

NO = "PO-0001"
AMOUNT = 150_000  # payout_body's amount, paise


def payout_notify(status: int = 2, *, order_no: str = "BP-1", out_order_no: str = NO, amount: int = AMOUNT,
                  secret: str = BEILYPAY_CREDS.secret) -> dict[str, Any]:  # fmt: skip
    body = {"appId": BEILYPAY_CREDS.app_id, "merchantId": BEILYPAY_CREDS.merchant_id, "outOrderNo": out_order_no,
            "orderNo": order_no, "payAmount": amount, "status": status, "payTime": "2026-11-25T10:00:00"}  # fmt: skip
    return {**body, "sign": beilypay.sign(body, secret)}


@pytest.fixture
def stopped() -> list[tuple[OrderKind, str, str]]:
    return []


@pytest.fixture
def callbacks(store, publisher, stopped) -> BeilyPayCallbacks:
    """Callbacks for one pending payout that BeilyPay accepted as order BP-1."""
    ledger = TransferLedger(store, publisher, clock=lambda: NOW_MS)
    service = PayoutService(store, ledger, RecordingStarter(), lease_ms=LEASE_MS, clock=lambda: NOW_MS, sleep=no_sleep)
    client = Upstream({beilypay.TRANS_CREATE_PATH: beilypay_trans_answer}).beilypay()
    service.create(APP, BEILYPAY_CREDS, client, CreatePayoutRequest.model_validate(payout_body(NO)),
                   notify_url="https://api.example.com/callbacks/beilypay/app")  # fmt: skip
    publisher.events.clear()
    return BeilyPayCallbacks(store, ledger, lambda *order: stopped.append(order))


def _status(store: TransfersStore) -> TransferStatus:
    transfer = store.get_transfer(OrderKind.PAYOUT, APP.app_id, NO)
    assert transfer is not None
    return transfer.status


def test_a_success_notify_settles_the_payout_once_and_stops_its_poller(callbacks, store, publisher, stopped):
    first = callbacks.handle(APP, BEILYPAY_CREDS, payout_notify(2))
    again = callbacks.handle(APP, BEILYPAY_CREDS, payout_notify(2))

    assert (first.outcome, again.outcome) == ("applied", "duplicate")
    assert _status(store) is TransferStatus.SUCCEEDED
    assert publisher.detail_types == ["payout.succeeded"]  # its publication is recorded: no second event
    assert (OrderKind.PAYOUT, APP.app_id, NO) in stopped


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (payout_notify(2, secret="not-the-secret"), "signature"),
        (payout_notify(2, amount=AMOUNT + 1), "amount mismatch"),
        (payout_notify(2, order_no="BP-OTHER"), "orderNo mismatch"),
        (payout_notify(2, out_order_no="PO-UNKNOWN"), "unknown payout"),
        (payout_notify(1, amount=AMOUNT + 1), "amount mismatch"),  # even a pending notify is checked
        (payout_notify(1, out_order_no="PO-UNKNOWN"), "unknown payout"),
    ],
)
def test_a_notify_that_is_forged_or_does_not_match_moves_nothing(callbacks, store, publisher, payload, reason):
    with pytest.raises(CallbackRejectedError) as rejected:
        callbacks.handle(APP, BEILYPAY_CREDS, payload)

    assert rejected.value.reason.startswith(reason)
    assert _status(store) is TransferStatus.PENDING
    assert publisher.events == []


def test_a_pending_notify_is_acknowledged_and_changes_nothing(callbacks, store, publisher):
    assert callbacks.handle(APP, BEILYPAY_CREDS, payout_notify(1)).outcome == "ignored"

    assert _status(store) is TransferStatus.PENDING
    assert publisher.events == []


def test_a_failure_after_a_success_is_refused(callbacks, store):
    callbacks.handle(APP, BEILYPAY_CREDS, payout_notify(2))

    with pytest.raises(CallbackRejectedError):
        callbacks.handle(APP, BEILYPAY_CREDS, payout_notify(3))

    assert _status(store) is TransferStatus.SUCCEEDED


# -- collections ----------------------------------------------------------------------------------

CO = "CO-0001"


def collection_notify(status: int = 2, *, paid: int = 49_900, order_no: str = "BP-2", out_order_no: str = CO,
                      secret: str = BEILYPAY_CREDS.secret) -> dict[str, Any]:  # fmt: skip
    body = {"outOrderNo": out_order_no, "orderNo": order_no, "paid": paid, "status": status,
            "payTime": "2026-11-25T10:00:00"}  # fmt: skip
    return {**body, "sign": beilypay.sign(body, secret)}


@pytest.fixture
def collections(store, publisher, stopped) -> BeilyPayCallbacks:
    """Callbacks for one pending ¥499 collection that BeilyPay created as order BP-2."""
    ledger = TransferLedger(store, publisher, clock=lambda: NOW_MS)
    service = CollectionService(store, ledger, RecordingStarter(), lease_ms=LEASE_MS, clock=lambda: NOW_MS,
                                sleep=no_sleep)  # fmt: skip
    client = Upstream({beilypay.PAYMENT_CREATE_PATH: beilypay_payment_answer}).beilypay()
    service.create(APP, BEILYPAY_CREDS, client, CreateCollectionRequest.model_validate(collection_body(CO)),
                   notify_url="https://api.example.com/callbacks/beilypay/app")  # fmt: skip
    publisher.events.clear()
    return BeilyPayCallbacks(store, ledger, lambda *order: stopped.append(order))


def _collection(store: TransfersStore) -> Any:
    return store.get_transfer(OrderKind.COLLECTION, APP.app_id, CO)


def test_a_paid_collection_records_what_was_paid(collections, store, publisher):
    assert collections.handle(APP, BEILYPAY_CREDS, collection_notify(2, paid=30_000)).outcome == "applied"

    collection = _collection(store)
    assert (collection.status, collection.paid) == (TransferStatus.SUCCEEDED, 30_000)  # as reported, partly paid
    assert publisher.detail_types == ["collection.succeeded"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (collection_notify(2, paid=0), "paid mismatch: success without payment"),
        (collection_notify(3, paid=100), "paid mismatch: failure with payment"),
        (collection_notify(2, order_no="BP-OTHER"), "orderNo mismatch"),
        (collection_notify(2, out_order_no="CO-UNKNOWN"), "unknown collection"),
        (collection_notify(1, out_order_no="CO-UNKNOWN"), "unknown collection"),
        (collection_notify(2, secret="not-the-secret"), "signature"),
    ],
)
def test_a_collection_notify_that_cannot_be_true_moves_nothing(collections, store, publisher, payload, reason):
    with pytest.raises(CallbackRejectedError) as rejected:
        collections.handle(APP, BEILYPAY_CREDS, payload)

    assert rejected.value.reason.startswith(reason)
    assert _collection(store).status is TransferStatus.PENDING
    assert publisher.events == []


def test_a_pending_collection_notify_changes_nothing(collections, store):
    assert collections.handle(APP, BEILYPAY_CREDS, collection_notify(1, paid=0)).outcome == "ignored"

    assert _collection(store).status is TransferStatus.PENDING


# -- the order's history --------------------------------------------------------------------------


@pytest.fixture
def clock() -> Callable[[], int]:
    return ticking_clock()


@pytest.fixture
def history(store, clock) -> OrderHistoryStore:
    """The history table in the orders table's moto account, on the services' clock."""
    return order_history_store(clock)


def _writing_to(history, store, publisher, clock) -> tuple[TransferLedger, BeilyPayCallbacks]:
    ledger = TransferLedger(store, publisher, history=history, clock=clock)
    return ledger, BeilyPayCallbacks(store, ledger, history=history, clock=clock)


@pytest.fixture
def recorded(history, store, publisher, clock) -> BeilyPayCallbacks:
    """Callbacks that write the history, for one pending payout (BP-1) whose creation is in it already."""
    ledger, callbacks = _writing_to(history, store, publisher, clock)
    service = PayoutService(store, ledger, RecordingStarter(), lease_ms=LEASE_MS, clock=clock, sleep=no_sleep)
    client = Upstream({beilypay.TRANS_CREATE_PATH: beilypay_trans_answer}).beilypay()
    service.create(APP, BEILYPAY_CREDS, client, CreatePayoutRequest.model_validate(payout_body(NO)),
                   notify_url="https://api.example.com/callbacks/beilypay/app")  # fmt: skip
    return callbacks


def _timeline(history: OrderHistoryStore, number: str = NO) -> list[tuple]:
    return [(entry.what, entry.detail) for entry in history.entries(APP.app_id, OrderKind.PAYOUT, number)]


CREATED = ("provider.created", {"provider_order_no": "BP-1"})


def test_an_accepted_notify_and_its_repeat_are_in_the_payouts_history(recorded, history):
    recorded.handle(APP, BEILYPAY_CREDS, payout_notify(1))  # BeilyPay's "still paying"
    recorded.handle(APP, BEILYPAY_CREDS, payout_notify(2))
    recorded.handle(APP, BEILYPAY_CREDS, payout_notify(2))

    assert _timeline(history) == [
        CREATED,
        ("callback.accepted", {"source": "beilypay", "outcome": "ignored", "changed": False}),
        ("callback.accepted", {"source": "beilypay", "outcome": "applied", "changed": True}),
        ("status.succeeded", {"by": "callback"}),
        ("callback.accepted", {"source": "beilypay", "outcome": "duplicate", "changed": False}),
    ]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        pytest.param(payout_notify(2, secret="not-the-secret"), "signature_mismatch", id="forged"),
        pytest.param(payout_notify(2, amount=AMOUNT + 1), "amount_mismatch", id="amount"),
        pytest.param(payout_notify(2, order_no="BP-OTHER"), "order_no_mismatch", id="other-beilypay-order"),
        pytest.param(payout_notify(1, amount=AMOUNT + 1), "amount_mismatch", id="pending-with-another-amount"),
    ],
)
def test_a_refused_notify_for_an_existing_payout_is_in_its_history_with_why(recorded, history, store, payload, reason):
    with pytest.raises(CallbackRejectedError):
        recorded.handle(APP, BEILYPAY_CREDS, payload)

    assert _timeline(history) == [CREATED, ("callback.refused", {"source": "beilypay", "reason": reason})]
    assert _status(store) is TransferStatus.PENDING


def test_a_notify_for_another_merchant_is_refused_as_such(recorded, history):
    body = {**payout_notify(2), "merchantId": BEILYPAY_CREDS.merchant_id + 1}
    body.pop("sign")
    signed = {**body, "sign": beilypay.sign(body, BEILYPAY_CREDS.secret)}

    with pytest.raises(CallbackRejectedError):
        recorded.handle(APP, BEILYPAY_CREDS, signed)

    assert _timeline(history)[-1] == ("callback.refused", {"source": "beilypay", "reason": "app_mismatch"})


def test_a_refused_notify_leaves_nothing_of_itself_but_why(recorded, history):
    with pytest.raises(CallbackRejectedError):
        recorded.handle(APP, BEILYPAY_CREDS, payout_notify(2, secret="not-the-secret"))

    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=HISTORY_TABLE)["Items"]
    stored = " ".join(str(item) for item in items)
    assert payout_notify(2, secret="not-the-secret")["sign"] not in stored
    assert "not-the-secret" not in stored
    assert BEILYPAY_CREDS.secret not in stored


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(payout_notify(2, out_order_no="PO-UNKNOWN"), id="signed"),
        pytest.param(payout_notify(1, out_order_no="PO-UNKNOWN"), id="pending"),
        pytest.param(payout_notify(2, out_order_no="PO-UNKNOWN", secret="not-the-secret"), id="forged"),
    ],
)
def test_a_notify_naming_a_payout_we_never_recorded_leaves_no_history(recorded, history, payload):
    with pytest.raises(CallbackRejectedError):
        recorded.handle(APP, BEILYPAY_CREDS, payload)

    assert _timeline(history, "PO-UNKNOWN") == []
    assert boto3.client("dynamodb", region_name="us-east-1").scan(TableName=HISTORY_TABLE)["Count"] == 1


def test_refused_notifies_for_one_payout_stop_at_the_daily_cap(recorded, history):
    for _ in range(DAILY_CAP + 5):
        with pytest.raises(CallbackRejectedError):
            recorded.handle(APP, BEILYPAY_CREDS, payout_notify(2, secret="not-the-secret"))

    assert [what for what, _ in _timeline(history)] == ["provider.created"] + ["callback.refused"] * DAILY_CAP


def test_a_history_that_cannot_be_written_never_fails_a_notify(callbacks, store, publisher, clock):
    broken = OrderHistoryStore(boto3.client("dynamodb", region_name="us-east-1"), "no-such-table", clock=clock)
    _, recorder = _writing_to(broken, store, publisher, clock)

    with pytest.raises(CallbackRejectedError) as refused:
        recorder.handle(APP, BEILYPAY_CREDS, payout_notify(2, amount=AMOUNT + 1))
    paid = recorder.handle(APP, BEILYPAY_CREDS, payout_notify(2))

    assert refused.value.reason == "amount mismatch"
    assert paid.outcome == "applied"
    assert _status(store) is TransferStatus.SUCCEEDED
    assert publisher.detail_types == ["payout.succeeded"]
