"""BillService: whatever fails between recording a bill and storing BeeCloud's answer, a retry resolves it.

Unit level: the real store on moto, the real BeeCloud adapter over a scripted MockTransport, and
failures injected inside the adapter, before the request is sent and after it was.
"""

from __future__ import annotations

import contextlib

import pytest

from paygate.errors import InvalidRequestError, PaygateError, ProviderFailedError
from paygate.models import BillStatus, OrderKind, ProviderState
from paygate.payments.bills import BillService
from paygate.payments.requests import CreateBillRequest
from paygate.providers import beecloud
from paygate.store.orders import OrdersStore
from tests.support.services import (
    APP,
    BEECLOUD_CREDS,
    LEASE_MS,
    NOW_MS,
    RecordingPublisher,
    Upstream,
    beecloud_bill_answer,
    no_sleep,
    order_history_store,
    ticking_clock,
)

BILL_NO = "BILL00000001"


@pytest.fixture
def upstream() -> Upstream:
    return Upstream({beecloud.BILL_PATH: beecloud_bill_answer})


@pytest.fixture
def service(orders: OrdersStore, upstream: Upstream, publisher: RecordingPublisher) -> BillService:
    return BillService(orders, upstream.beecloud(), publisher, lease_ms=LEASE_MS, clock=lambda: NOW_MS, sleep=no_sleep)  # type: ignore[arg-type]


def _request(**overrides: object) -> CreateBillRequest:
    body = {"bill_no": BILL_NO, "channel": "WX_NATIVE", "total_fee": 100, "title": "白开水", **overrides}
    return CreateBillRequest.model_validate(body)


def _boom(*args: object, **kwargs: object) -> str:
    raise RuntimeError("signing failed unexpectedly")


def test_a_failure_before_sending_fails_the_bill_and_a_retry_gets_the_same_answer(
    service, orders, upstream, publisher, monkeypatch
):
    monkeypatch.setattr(beecloud, "app_sign", _boom)

    with pytest.raises(PaygateError) as first:
        service.create(APP, BEECLOUD_CREDS, _request())
    monkeypatch.undo()
    with pytest.raises(PaygateError) as retry:
        service.create(APP, BEECLOUD_CREDS, _request())

    assert (first.value.status, first.value.code) == (500, "provider_request_not_sent")
    assert (retry.value.status, retry.value.code) == (500, "provider_request_not_sent")
    assert upstream.requests == []
    stored = orders.get_bill(APP.app_id, BILL_NO)
    assert (stored.status, stored.provider_state) == (BillStatus.FAILED, ProviderState.REJECTED.value)
    assert stored.failure_code == "provider_request_not_sent"
    assert publisher.detail_types == ["bill.failed"]


def test_a_failure_after_sending_releases_the_bill_and_a_retry_gets_its_payment(service, orders, upstream):
    upstream.break_next = RuntimeError("the transport broke in an unforeseen way")

    with pytest.raises(ProviderFailedError) as first:
        service.create(APP, BEECLOUD_CREDS, _request())
    released = orders.get_bill(APP.app_id, BILL_NO)
    retry = service.create(APP, BEECLOUD_CREDS, _request())

    assert (first.value.status, first.value.code) == (502, "provider_error")
    assert (released.status, released.provider_state) == (BillStatus.PENDING, ProviderState.UNKNOWN.value)
    assert retry.created is False
    assert retry.order.payment_params["code_url"] == f"weixin://wxpay/{BILL_NO}"
    assert upstream.paths() == [beecloud.BILL_PATH, beecloud.BILL_PATH]


def test_a_bill_the_adapter_would_refuse_fails_with_a_422_and_nothing_is_sent(service, orders, upstream):
    # Bypasses the API model, as a divergence between its rules and the adapter's would.
    request = _request().model_copy(update={"title": "\u3000"})

    with pytest.raises(InvalidRequestError) as first:
        service.create(APP, BEECLOUD_CREDS, request)
    with pytest.raises(InvalidRequestError) as retry:
        service.create(APP, BEECLOUD_CREDS, request)

    assert first.value.code == retry.value.code == "provider_request_invalid"
    assert "title" in first.value.message
    assert upstream.requests == []
    assert orders.get_bill(APP.app_id, BILL_NO).status is BillStatus.FAILED


def test_a_lost_store_write_after_the_answer_releases_the_bill_for_a_retry(service, orders, upstream, monkeypatch):
    def store_down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("DynamoDB went away")

    monkeypatch.setattr(orders, "record_bill_created", store_down)
    with pytest.raises(ConnectionError):
        service.create(APP, BEECLOUD_CREDS, _request())
    monkeypatch.undo()
    retry = service.create(APP, BEECLOUD_CREDS, _request())

    assert retry.order.provider_state == ProviderState.CREATED.value
    assert len(upstream.requests) == 2


@pytest.mark.parametrize(
    ("answer", "timeline"),
    [
        pytest.param(beecloud_bill_answer, [("provider.created", {})], id="created"),
        pytest.param(
            {"result_code": 7, "result_msg": "CHANNEL_ERROR", "err_detail": "refused"},
            [
                ("provider.rejected", {"code": "channel_error", "provider_code": 7}),
                ("status.failed", {"by": "create"}),
            ],
            id="refused",
        ),
        pytest.param(
            {"result_code": 14, "result_msg": "RUN_TIME_ERROR", "err_detail": ""},
            [("provider.unknown", {"reason": "provider_error"})],
            id="answer-lost",
        ),
    ],
)
def test_beecloud_s_answer_to_the_create_is_in_the_bills_history(orders, publisher, answer, timeline):
    history = order_history_store(ticking_clock())
    client = Upstream({beecloud.BILL_PATH: answer}).beecloud()
    service = BillService(orders, client, publisher, lease_ms=LEASE_MS, history=history, sleep=no_sleep)  # type: ignore[arg-type]

    with contextlib.suppress(PaygateError):
        service.create(APP, BEECLOUD_CREDS, _request())

    entries = history.entries(APP.app_id, OrderKind.BILL, BILL_NO)
    assert [(entry.what, entry.detail) for entry in entries] == timeline
