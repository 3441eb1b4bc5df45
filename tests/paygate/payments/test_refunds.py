"""RefundService: whatever fails between reserving a refund and BeeCloud's answer, the refund is resolvable.

Unit level: the real store on moto, the real BeeCloud adapter over a scripted MockTransport, and
failures injected inside the adapter, before the request is sent and after it was.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from paygate.clock import china_date
from paygate.errors import PaygateError, ProviderFailedError
from paygate.models import RefundStatus
from paygate.payments.bills import BillService
from paygate.payments.refunds import RefundService
from paygate.payments.requests import CreateBillRequest, CreateRefundRequest
from paygate.providers import beecloud
from paygate.store.orders import OrdersStore
from tests.support.services import (
    APP,
    BEECLOUD_CREDS,
    BEECLOUD_OK,
    LEASE_MS,
    NOW_MS,
    RecordingPublisher,
    Upstream,
    beecloud_bill_answer,
)

BILL_NO = "BILL00000001"
TODAY = china_date(NOW_MS)


@pytest.fixture
def upstream() -> Upstream:
    return Upstream(
        {
            beecloud.BILL_PATH: beecloud_bill_answer,
            beecloud.REFUND_PATH: {**BEECLOUD_OK, "id": "bc-refund"},
            # WeChat refunds are refreshed through refund/status; 13 is NO_SUCH_REFUND.
            beecloud.REFUND_STATUS_PATH: {"result_code": 13, "result_msg": "NO_SUCH_REFUND", "err_detail": ""},
        }
    )


@pytest.fixture
def service(orders: OrdersStore, upstream: Upstream, publisher: RecordingPublisher) -> RefundService:
    """A refund service for a paid ¥1.00 WX_NATIVE bill."""
    client = upstream.beecloud()
    bill = CreateBillRequest(bill_no=BILL_NO, channel="WX_NATIVE", total_fee=100, title="白开水")  # type: ignore[arg-type]
    BillService(orders, client, publisher, lease_ms=LEASE_MS, clock=lambda: NOW_MS).create(APP, BEECLOUD_CREDS, bill)  # type: ignore[arg-type]
    orders.mark_bill_paid(APP.app_id, BILL_NO, total_fee=100, now_ms=NOW_MS)
    upstream.requests.clear()
    return RefundService(orders, client, publisher, clock=lambda: NOW_MS)  # type: ignore[arg-type]


def _request(serial: str = "001", fee: int = 40) -> CreateRefundRequest:
    return CreateRefundRequest(refund_no=f"{TODAY}{serial}", bill_no=BILL_NO, refund_fee=fee)


def _boom(*args: object, **kwargs: object) -> str:
    raise RuntimeError("signing failed unexpectedly")


def test_a_failure_before_sending_fails_the_refund_and_frees_the_bill(service, orders, upstream, monkeypatch):
    monkeypatch.setattr(beecloud, "app_sign", _boom)
    with pytest.raises(PaygateError) as first:
        service.create(APP, BEECLOUD_CREDS, _request())
    monkeypatch.undo()

    repeat = service.create(APP, BEECLOUD_CREDS, _request())
    another = service.create(APP, BEECLOUD_CREDS, _request(serial="002"))

    assert (first.value.status, first.value.code) == (500, "provider_request_not_sent")
    assert (repeat.created, repeat.order.status) == (False, RefundStatus.FAILED)
    assert repeat.order.failure_code == "provider_request_not_sent"
    assert (another.created, another.order.status) == (True, RefundStatus.PENDING)
    assert upstream.paths() == [beecloud.REFUND_PATH]  # only the second refund was sent
    assert orders.get_bill(APP.app_id, BILL_NO).active_refund == f"{TODAY}002"


def test_a_failure_after_sending_leaves_the_refund_pending_and_a_refresh_settles_it(service, orders, upstream):
    upstream.break_next = RuntimeError("the transport broke in an unforeseen way")
    with pytest.raises(ProviderFailedError) as first:
        service.create(APP, BEECLOUD_CREDS, _request())

    repeat = service.create(APP, BEECLOUD_CREDS, _request())
    resent = service.refresh(APP, BEECLOUD_CREDS, _request().refund_no)
    upstream.answers[beecloud.REFUND_STATUS_PATH] = {**BEECLOUD_OK, "refund_status": "SUCCESS"}
    settled = service.refresh(APP, BEECLOUD_CREDS, _request().refund_no)

    assert (first.value.status, first.value.code) == (502, "provider_error")
    assert (repeat.created, repeat.order.status) == (False, RefundStatus.PENDING)
    assert resent.status is RefundStatus.PENDING
    assert settled.status is RefundStatus.SUCCEEDED
    # BeeCloud had no record of the first send, so the refresh sent it again, under the same number.
    assert upstream.paths() == [
        beecloud.REFUND_PATH,
        beecloud.REFUND_STATUS_PATH,
        beecloud.REFUND_PATH,
        beecloud.REFUND_STATUS_PATH,
    ]
    assert orders.get_bill(APP.app_id, BILL_NO).refunded_fee == 40


def test_a_pending_refund_that_can_no_longer_be_built_fails_on_refresh_and_frees_the_bill(
    service, orders, upstream, monkeypatch
):
    upstream.break_next = RuntimeError("the transport broke in an unforeseen way")
    with pytest.raises(ProviderFailedError):
        service.create(APP, BEECLOUD_CREDS, _request())

    def refused(value: str) -> str:
        raise ValueError("refund_no must be yyyyMMdd (a real date) + 3-24 letters or digits")

    monkeypatch.setattr(beecloud, "check_refund_no", refused)
    failed = service.refresh(APP, BEECLOUD_CREDS, _request().refund_no)
    monkeypatch.undo()
    another = service.create(APP, BEECLOUD_CREDS, _request(serial="002"))

    assert (failed.status, failed.failure_code) == (RefundStatus.FAILED, "provider_request_invalid")
    assert another.order.status is RefundStatus.PENDING
    assert upstream.paths() == [beecloud.REFUND_PATH, beecloud.REFUND_STATUS_PATH, beecloud.REFUND_PATH]


@pytest.mark.parametrize("first_answer", ["accepted", "lost"])
def test_a_refund_finished_while_beecloud_answers_is_returned_as_it_stands(service, orders, upstream, first_answer):
    """The webhook (or a concurrent refresh) settles the refund while our call waits for BeeCloud's
    answer: recording that answer loses the race, and the caller gets the settled refund, not a 500."""
    refund_no = _request().refund_no

    def settled_meanwhile(body: dict) -> dict:
        pending = orders.get_refund(APP.app_id, refund_no)
        orders.finish_refund(pending, succeeded=True, now_ms=NOW_MS)
        return {**BEECLOUD_OK, "id": "bc-refund"}

    if first_answer == "lost":  # the create's answer is lost; a refresh finds no record and sends it again
        upstream.break_next = RuntimeError("the answer was lost")
        with pytest.raises(ProviderFailedError):
            service.create(APP, BEECLOUD_CREDS, _request())
        upstream.answers[beecloud.REFUND_PATH] = settled_meanwhile
        answer = service.refresh(APP, BEECLOUD_CREDS, refund_no)
    else:
        upstream.answers[beecloud.REFUND_PATH] = settled_meanwhile
        answer = service.create(APP, BEECLOUD_CREDS, _request()).order

    assert answer.status is RefundStatus.SUCCEEDED
    assert orders.get_refund(APP.app_id, refund_no).status is RefundStatus.SUCCEEDED


def test_a_bill_and_its_refunds_are_read_as_of_one_instant(service, orders, upstream):
    """The console's bill page: a refund shown settled is always counted in the bill beside it."""
    refund = service.create(APP, BEECLOUD_CREDS, _request()).order
    pending = orders.bill_and_refunds(APP.app_id, BILL_NO, [refund.refund_no, "20990101999"])  # one unknown
    upstream.answers[beecloud.REFUND_STATUS_PATH] = {**BEECLOUD_OK, "refund_status": "SUCCESS"}
    service.refresh(APP, BEECLOUD_CREDS, refund.refund_no)
    settled = orders.bill_and_refunds(APP.app_id, BILL_NO, [refund.refund_no])

    assert pending is not None
    assert (pending[0].refunded_fee, [r.status for r in pending[1]]) == (0, [RefundStatus.PENDING])
    assert settled is not None
    assert (settled[0].refunded_fee, [r.status for r in settled[1]]) == (40, [RefundStatus.SUCCEEDED])
    assert orders.bill_and_refunds(APP.app_id, "NOSUCHBILL", []) is None


class _Conflicting:
    """The moto client, whose first `times` TransactGetItems meet a transaction on the same items."""

    def __init__(self, client: object, times: int) -> None:
        self._client = client
        self.times = times

    def __getattr__(self, name: str) -> object:
        return getattr(self._client, name)

    def transact_get_items(self, **request: object) -> object:
        if self.times:
            self.times -= 1
            raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "conflict"}}, "Tx")
        return self._client.transact_get_items(**request)  # type: ignore[attr-defined]


def test_a_snapshot_that_meets_a_running_transaction_is_asked_again_then_given_up(service, orders, monkeypatch):
    monkeypatch.setattr("paygate.store.orders.time.sleep", lambda _s: None)
    refund = service.create(APP, BEECLOUD_CREDS, _request()).order

    briefly = OrdersStore(_Conflicting(orders._db, times=2), "orders")
    always = OrdersStore(_Conflicting(orders._db, times=99), "orders")

    assert briefly.bill_and_refunds(APP.app_id, BILL_NO, [refund.refund_no]) is not None
    assert always.bill_and_refunds(APP.app_id, BILL_NO, [refund.refund_no]) is None  # the page reads them apart
