"""Creating bills: record first, then call BeeCloud once, never leave a half-written bill.

A bill is written (pending, lease held) before the provider is called. The lease makes
concurrent repeats of the same request wait for the first call instead of calling BeeCloud
again; a call that timed out releases it (provider_state=unknown) so a retry may ask again —
BeeCloud answers a repeated unpaid bill_no with fresh payment parameters.

No exception leaves a bill holding its lease: a request the adapter refused to build (nothing
sent) fails the bill with that reason; anything else between the lease and the stored answer
releases it as unknown, so the merchant's retry asks BeeCloud again instead of waiting on a
lease (409 request_in_progress) or an operator.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from paygate.bus import EventPublisher
from paygate.clock import now_ms
from paygate.credentials import BeeCloudCredentials
from paygate.errors import ConflictError, PaygateError, ProviderError, failure_code, stored_failure, to_api_error
from paygate.events import bill_failed
from paygate.history import (
    NO_HISTORY,
    PROVIDER_CREATED,
    PROVIDER_REJECTED,
    PROVIDER_UNKNOWN,
    Detail,
    OrderHistory,
    provider_refusal,
    status_changed,
)
from paygate.models import App, Bill, BillStatus, Created, OrderKind, ProviderState
from paygate.payments.requests import CreateBillRequest
from paygate.providers.beecloud import BeeCloudClient
from paygate.store.orders import AlreadyExistsError, OrdersStore, TransitionRejectedError

# How long a repeat waits for a concurrent first call before answering 409 request_in_progress.
WAIT_FOR_CONCURRENT_S = 12.0
_POLL_S = 0.05


class BillService:
    def __init__(
        self,
        orders: OrdersStore,
        beecloud: BeeCloudClient,
        publisher: EventPublisher,
        *,
        lease_ms: int,
        history: OrderHistory = NO_HISTORY,
        clock: Callable[[], int] = now_ms,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._orders = orders
        self._beecloud = beecloud
        self._publisher = publisher
        self._lease_ms = lease_ms
        self._history = history
        self._clock = clock
        self._sleep = sleep

    def create(self, app: App, creds: BeeCloudCredentials, request: CreateBillRequest) -> Created[Bill]:
        """201 on first creation; the same bill for an identical repeat; 409 for a different body."""
        now = self._clock()
        bill = Bill(
            app_id=app.app_id,
            bill_no=request.bill_no,
            channel=request.channel,
            total_fee=request.total_fee,
            title=request.title,
            optional=request.optional,
            return_url=request.return_url,
            openid=request.openid,
            show_url=request.show_url,
            qr_pay_mode=request.qr_pay_mode,
            use_app=request.use_app,
            status=BillStatus.PENDING,
            request_hash=request.fingerprint(),
            provider_state=ProviderState.CALLING.value,
            lease_until_ms=now + self._lease_ms,
            created_at_ms=now,
            updated_at_ms=now,
        )
        try:
            self._orders.put_new_bill(bill)
        except AlreadyExistsError as exists:
            existing = Bill.model_validate(exists.existing)
            if existing.request_hash != bill.request_hash:
                raise ConflictError(
                    "bill_no was already used with different parameters", code="bill_no_conflict"
                ) from None
            return Created(self._resume(creds, existing), created=False)
        return Created(self._call_provider(creds, bill), created=True)

    def _resume(self, creds: BeeCloudCredentials, bill: Bill) -> Bill:
        deadline = time.monotonic() + WAIT_FOR_CONCURRENT_S
        while True:
            if bill.provider_state == ProviderState.CREATED.value:
                return bill
            if bill.provider_state == ProviderState.REJECTED.value:
                raise _stored_failure(bill)
            now = self._clock()
            lease_free = bill.provider_state == ProviderState.UNKNOWN.value or bill.lease_until_ms < now
            if lease_free and bill.status == BillStatus.PENDING:
                try:
                    leased = self._orders.take_bill_lease(
                        bill.app_id, bill.bill_no, now_ms=now, lease_until_ms=now + self._lease_ms
                    )
                except TransitionRejectedError:
                    pass  # someone else took it; wait for their result
                else:
                    return self._call_provider(creds, leased)
            if time.monotonic() >= deadline:
                raise ConflictError(
                    "an identical request for this bill_no is still in progress; retry shortly",
                    code="request_in_progress",
                )
            self._sleep(_POLL_S)
            current = self._orders.get_bill(bill.app_id, bill.bill_no)
            if current is None:  # pragma: no cover - bills are never deleted
                raise ConflictError("bill disappeared", code="request_in_progress")
            bill = current

    def _call_provider(self, creds: BeeCloudCredentials, bill: Bill) -> Bill:
        try:
            params = self._beecloud.create_bill(
                creds,
                channel=bill.channel.value,
                bill_no=bill.bill_no,
                total_fee=bill.total_fee,
                title=bill.title,
                optional=bill.optional,
                return_url=bill.return_url,
                openid=bill.openid,
                show_url=bill.show_url,
                qr_pay_mode=bill.qr_pay_mode,
                use_app=bill.use_app,
            )
        except ProviderError as error:
            now = self._clock()
            api_error = to_api_error(error)
            if error.outcome_unknown:
                self._orders.record_bill_unknown(bill.app_id, bill.bill_no, now_ms=now)
                self._note(bill, PROVIDER_UNKNOWN, {"reason": failure_code(error)})
            else:
                failed = self._orders.record_bill_rejected(
                    bill.app_id, bill.bill_no, failure_code(error), api_error.message, now_ms=now
                )
                self._note(bill, PROVIDER_REJECTED, provider_refusal(error))
                self._note(bill, status_changed(failed.status), {"by": "create"})
                self._publisher.publish(bill_failed(failed))
            raise api_error from error
        except Exception:
            self._release_unknown(bill)  # the adapter raised outside its contract: maybe sent
            raise
        try:
            created = self._orders.record_bill_created(bill.app_id, bill.bill_no, params, now_ms=self._clock())
        except TransitionRejectedError:
            # Our lease expired and another call stored its (equally valid) parameters first.
            current = self._orders.get_bill(bill.app_id, bill.bill_no)
            assert current is not None
            return current
        except Exception:
            self._release_unknown(bill)  # BeeCloud's answer is lost; a retry gets a fresh one
            raise
        self._note(bill, PROVIDER_CREATED)
        return created

    def _release_unknown(self, bill: Bill) -> None:
        """Best effort (the store may be what failed): otherwise the lease expires by itself."""
        with contextlib.suppress(Exception):
            self._orders.record_bill_unknown(bill.app_id, bill.bill_no, now_ms=self._clock())
            self._note(bill, PROVIDER_UNKNOWN, {"reason": "interrupted"})

    def _note(self, bill: Bill, what: str, detail: Detail | None = None) -> None:
        """One fact in the bill's history (best effort: never raises)."""
        self._history.record(bill.app_id, OrderKind.BILL, bill.bill_no, what, detail)


def _stored_failure(bill: Bill) -> PaygateError:
    """An identical repeat of a rejected bill gets the same answer as the first request."""
    return stored_failure(
        bill.failure_code or "provider_error", bill.failure_message or "the provider rejected this bill"
    )
