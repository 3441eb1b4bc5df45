"""CollectionService: whatever fails between recording a collection and BeilyPay's answer, none stays `calling`.

Unit level: the real store on moto, the real BeilyPay adapter over a scripted MockTransport, and
failures injected inside the adapter, before the request is sent and after it was.
"""

from __future__ import annotations

import pytest

from bench.samples import collection_body
from paygate.errors import PaygateError
from paygate.models import OrderKind, ProviderState, TransferStatus
from paygate.providers import beilypay
from paygate.store.transfers import TransfersStore
from paygate.transfers.collections import CollectionService
from paygate.transfers.ledger import TransferLedger
from paygate.transfers.requests import CreateCollectionRequest
from tests.support.services import (
    APP,
    BEILYPAY_CREDS,
    LEASE_MS,
    NOW_MS,
    RecordingStarter,
    Upstream,
    beilypay_payment_answer,
    no_sleep,
)

NO = "CO-0001"
NOTIFY_URL = "https://api.example.com/callbacks/beilypay/app_0123456789abcdef/collection"


@pytest.fixture
def upstream() -> Upstream:
    return Upstream({beilypay.PAYMENT_CREATE_PATH: beilypay_payment_answer})


@pytest.fixture
def starter() -> RecordingStarter:
    return RecordingStarter()


@pytest.fixture
def create(store, upstream, publisher, starter):
    ledger = TransferLedger(store, publisher, clock=lambda: NOW_MS)
    service = CollectionService(store, ledger, starter, lease_ms=LEASE_MS, clock=lambda: NOW_MS, sleep=no_sleep)
    client = upstream.beilypay()
    request = CreateCollectionRequest.model_validate(collection_body(NO))
    return lambda: service.create(APP, BEILYPAY_CREDS, client, request, notify_url=NOTIFY_URL)


def _boom(*args: object, **kwargs: object) -> str:
    raise RuntimeError("signing failed unexpectedly")


def _stored(store: TransfersStore):
    return store.get_transfer(OrderKind.COLLECTION, APP.app_id, NO)


def test_a_failure_before_sending_fails_the_collection_and_a_retry_gets_the_same_answer(
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


def test_a_failure_after_sending_makes_the_collection_unknown_reported_and_never_resent(
    create, store, upstream, publisher
):
    upstream.break_next = RuntimeError("the transport broke in an unforeseen way")

    first = create()
    retry = create()

    assert first.order.status is TransferStatus.UNKNOWN
    assert first.order.unknown_reason == "create_response_lost"
    assert (retry.created, retry.order.status) == (False, TransferStatus.UNKNOWN)
    assert publisher.detail_types == ["collection.unknown"]
    assert len(upstream.requests) == 1  # a collection whose answer was lost is never sent again
