"""PayoutService: whatever fails between recording a payout and BeilyPay's answer, no payout stays `calling`.

Unit level: the real store on moto, the real BeilyPay adapter over a scripted MockTransport, and
failures injected inside the adapter (before the request is sent and after it was), in the
poller's start and in the store.
"""

from __future__ import annotations

import contextlib

import httpx
import pytest

from bench.samples import payout_body
from paygate.errors import PaygateError
from paygate.models import OrderKind, ProviderState, TransferStatus
from paygate.providers import beilypay
from paygate.store.transfers import TransfersStore
from paygate.transfers.ledger import TransferLedger
from paygate.transfers.payouts import PayoutService
from paygate.transfers.requests import CreatePayoutRequest
from tests.support.services import (
    APP,
    BEILYPAY_CREDS,
    LEASE_MS,
    NOW_MS,
    RecordingStarter,
    Upstream,
    beilypay_trans_answer,
    no_sleep,
    order_history_store,
    ticking_clock,
)

NO = "PO-0001"
NOTIFY_URL = "https://api.example.com/callbacks/beilypay/app_0123456789abcdef/payout"


@pytest.fixture
def upstream() -> Upstream:
    return Upstream({beilypay.TRANS_CREATE_PATH: beilypay_trans_answer})


@pytest.fixture
def starter() -> RecordingStarter:
    return RecordingStarter()


@pytest.fixture
def create(store, upstream, publisher, starter):
    ledger = TransferLedger(store, publisher, clock=lambda: NOW_MS)
    service = PayoutService(store, ledger, starter, lease_ms=LEASE_MS, clock=lambda: NOW_MS, sleep=no_sleep)
    client = upstream.beilypay()
    request = CreatePayoutRequest.model_validate(payout_body(NO))
    return lambda: service.create(APP, BEILYPAY_CREDS, client, request, notify_url=NOTIFY_URL)


def _boom(*args: object, **kwargs: object) -> str:
    raise RuntimeError("signing failed unexpectedly")


def _stored(store: TransfersStore):
    return store.get_transfer(OrderKind.PAYOUT, APP.app_id, NO)


def test_a_failure_before_sending_fails_the_payout_and_a_retry_gets_the_same_answer(
    create, store, upstream, monkeypatch
):
    monkeypatch.setattr(beilypay, "sign", _boom)
    with pytest.raises(PaygateError) as first:
        create()
    monkeypatch.undo()
    with pytest.raises(PaygateError) as retry:
        create()

    assert (first.value.status, first.value.code) == (500, "provider_request_not_sent")
    assert (retry.value.status, retry.value.code) == (500, "provider_request_not_sent")
    assert upstream.requests == []
    stored = _stored(store)
    assert (stored.status, stored.provider_state) == (TransferStatus.FAILED, ProviderState.REJECTED.value)


def test_a_failure_after_sending_makes_the_payout_unknown_reported_and_never_resent(create, store, upstream, publisher):
    upstream.break_next = RuntimeError("the transport broke in an unforeseen way")

    first = create()
    retry = create()

    assert first.order.status is TransferStatus.UNKNOWN
    assert first.order.unknown_reason == "create_response_lost"
    assert (retry.created, retry.order.status) == (False, TransferStatus.UNKNOWN)
    assert publisher.detail_types == ["payout.unknown"]
    assert len(upstream.requests) == 1  # a payout whose answer was lost is never sent again


def test_a_poller_that_cannot_start_fails_the_payout_before_anything_is_sent(create, store, upstream, starter):
    starter.fail = ConnectionError("Step Functions unreachable")
    with pytest.raises(ConnectionError):
        create()
    starter.fail = None
    with pytest.raises(PaygateError) as retry:
        create()

    assert retry.value.code == "provider_request_not_sent"
    assert _stored(store).status is TransferStatus.FAILED
    assert upstream.requests == []


def test_a_lost_store_write_after_sending_makes_the_payout_unknown(create, store, upstream, publisher, monkeypatch):
    def store_down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("DynamoDB went away")

    monkeypatch.setattr(store, "record_created", store_down)
    with pytest.raises(ConnectionError):
        create()
    monkeypatch.undo()
    retry = create()

    assert (retry.created, retry.order.status) == (False, TransferStatus.UNKNOWN)
    assert retry.order.unknown_reason == "create_interrupted"
    assert publisher.detail_types == ["payout.unknown"]
    assert len(upstream.requests) == 1


def _paid_at_once(body: dict) -> dict:
    """BeilyPay's answer to the create already says paid (status 2)."""
    data = {k: v for k, v in beilypay_trans_answer(body)["data"].items() if k != "sign"} | {"status": 2}
    return {"code": 200, "msg": "success", "data": {**data, "sign": beilypay.sign(data, BEILYPAY_CREDS.secret)}}


@pytest.mark.parametrize(
    ("answer", "broken", "timeline"),
    [
        pytest.param(beilypay_trans_answer, None, [("provider.created", {"provider_order_no": "BP-1"})], id="pending"),
        pytest.param(
            _paid_at_once,
            None,
            [("provider.created", {"provider_order_no": "BP-1"}), ("status.succeeded", {"by": "create"})],
            id="paid-at-once",
        ),
        pytest.param(
            {"code": 10005, "msg": "balance not enough"},
            None,
            [
                ("provider.rejected", {"code": "insufficient_provider_balance", "provider_code": 10005}),
                ("status.failed", {"by": "create"}),
            ],
            id="refused",
        ),
        pytest.param(
            beilypay_trans_answer,
            httpx.ReadTimeout("timed out"),
            [
                ("provider.unknown", {"reason": "create_timeout"}),
                ("status.unknown", {"by": "create", "reason": "create_timeout"}),
            ],
            id="answer-lost",
        ),
    ],
)
def test_beilypays_answer_to_the_create_is_in_the_payouts_history(store, publisher, starter, answer, broken, timeline):
    history = order_history_store(ticking_clock())
    ledger = TransferLedger(store, publisher, history=history)
    service = PayoutService(store, ledger, starter, lease_ms=LEASE_MS, sleep=no_sleep)
    upstream = Upstream({beilypay.TRANS_CREATE_PATH: answer}, break_next=broken)
    request = CreatePayoutRequest.model_validate(payout_body(NO))

    with contextlib.suppress(PaygateError):
        service.create(APP, BEILYPAY_CREDS, upstream.beilypay(), request, notify_url=NOTIFY_URL)

    entries = history.entries(APP.app_id, OrderKind.PAYOUT, NO)
    assert [(entry.what, entry.detail) for entry in entries] == timeline
