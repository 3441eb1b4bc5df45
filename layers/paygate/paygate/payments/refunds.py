"""Refunds: reserve against the bill in one transaction, then ask BeeCloud; settle on its word.

The reservation (refund item + bill's active_refund and reserved sum) is atomic, so concurrent
refunds can never together exceed the bill, and BeeCloud's rule of one successful refund per
bill holds. A provider timeout leaves the refund pending: the webhook, a refresh or
reconciliation settles it; it is never failed on a guess.

A refresh that finds BeeCloud has no record of the refund (our create never reached it: a 5xx
or a hang before BeeCloud's logic) sends it again under the same refund_no. BeeCloud refuses a
second refund with a refund_no it already has, so a re-send can never refund twice; without it
such a refund would stay pending, and hold its bill, forever. For the same reason a refund whose
request cannot even be built fails, on create or on a re-send, and frees its bill.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from paygate.bus import EventPublisher
from paygate.clock import now_ms
from paygate.credentials import BeeCloudCredentials
from paygate.errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PaygateError,
    ProviderError,
    ProviderRejectedError,
    ProviderRequestError,
    RejectReason,
    failure_code,
    to_api_error,
)
from paygate.events import refund_finished
from paygate.history import (
    NO_HISTORY,
    PROVIDER_CREATED,
    PROVIDER_REJECTED,
    PROVIDER_UNKNOWN,
    ChangedBy,
    Detail,
    OrderHistory,
    provider_refusal,
    status_changed,
)
from paygate.models import App, BillStatus, Created, OrderKind, Refund, RefundStatus
from paygate.payments.requests import CreateRefundRequest
from paygate.providers.beecloud import BeeCloudClient, RefundAccepted
from paygate.store.orders import OrdersStore, RefundReservationError, TransitionRejectedError

# Answers to a re-send that the first refund may have caused, had it reached BeeCloud after all
# (its query can lag): 5 duplicate refund_no (PARAM_INVALID), 11 a refund of the bill in progress or
# succeeded, 12 more than what is left, 16 duplicate (v2). They never fail the refund.
_MAYBE_ALREADY_THERE = frozenset({5, 11, 12, 16})

# refund/status values that settle a WeChat refund (WeChat's refund_status vocabulary).
_WX_SUCCEEDED = {"SUCCESS"}
_WX_FAILED = {"FAIL", "FAILED", "CHANGE", "REFUNDCLOSE"}


class RefundService:
    def __init__(
        self,
        orders: OrdersStore,
        beecloud: BeeCloudClient,
        publisher: EventPublisher,
        *,
        history: OrderHistory = NO_HISTORY,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._orders = orders
        self._beecloud = beecloud
        self._publisher = publisher
        self._history = history
        self._clock = clock

    def create(self, app: App, creds: BeeCloudCredentials, request: CreateRefundRequest) -> Created[Refund]:
        now = self._clock()
        # No read of the refund first: the reservation's Put fails on an existing refund_no and
        # returns it (ALL_OLD). Only when this request would be refused anyway is the refund
        # looked up, since a repeat gets the stored refund whatever the bill says now.
        refused = self._refusal(request, now)
        if refused is not None:
            return self._existing_or_raise(app, request, refused)
        bill = self._orders.get_bill(app.app_id, request.bill_no)
        if bill is None:
            refused = NotFoundError("no bill with this bill_no", code="bill_not_found")
        elif bill.status is not BillStatus.SUCCEEDED:
            refused = ConflictError("only a paid bill can be refunded", code="bill_not_paid")
        elif request.refund_fee > bill.total_fee - bill.refund_reserved:
            refused = ConflictError("refund_fee exceeds what is left to refund on the bill", code="refund_exceeds_bill")
        if refused is not None or bill is None:
            return self._existing_or_raise(app, request, refused)
        refund = Refund(
            app_id=app.app_id,
            refund_no=request.refund_no,
            bill_no=request.bill_no,
            channel=bill.channel,
            refund_fee=request.refund_fee,
            optional=request.optional,
            status=RefundStatus.PENDING,
            request_hash=request.fingerprint(),
            created_at_ms=now,
            updated_at_ms=now,
        )
        try:
            self._orders.reserve_refund(refund, bill_total_fee=bill.total_fee)
        except RefundReservationError as error:
            if error.reason == "duplicate_refund" and error.existing_refund:
                return Created(
                    self._same_or_conflict(Refund.model_validate(error.existing_refund), request),
                    created=False,
                )
            raise _reservation_error(error.reason) from None
        return Created(self._call_provider(creds, refund), created=True)

    def refresh(self, app: App, creds: BeeCloudCredentials, refund_no: str) -> Refund:
        """Ask BeeCloud where a pending refund stands and settle it if the answer is final.

        A final refund's event is published again (same id): when the publish after a settle by
        refresh or by a failed create was lost, no webhook retry would ever repeat it.
        """
        refund = self._orders.get_refund(app.app_id, refund_no)
        if refund is None:
            raise NotFoundError("no refund with this refund_no", code="refund_not_found")
        if refund.status is not RefundStatus.PENDING:
            self._publisher.publish(refund_finished(refund))
            return refund
        try:
            if refund.channel.family == "WX":
                try:
                    status = self._beecloud.refund_status(creds, refund_no=refund_no, channel="WX").upper()
                except ProviderRejectedError as rejected:
                    if rejected.reason is not RejectReason.NOT_FOUND:
                        raise
                    return self._resend(creds, refund)
                succeeded = True if status in _WX_SUCCEEDED else False if status in _WX_FAILED else None
            else:
                records = self._beecloud.query_refunds(
                    creds, channel=refund.channel.family, refund_no=refund_no, bill_no=refund.bill_no, limit=1
                )
                record = next((r for r in records if r.refund_no == refund_no), None)
                if record is None:
                    return self._resend(creds, refund)
                succeeded = None if not record.finish else bool(record.result)
        except ProviderError as error:
            raise to_api_error(error) from error
        if succeeded is None:
            return refund
        return self.settle(
            refund, succeeded=succeeded, failure="refund_failed" if not succeeded else None, by="refresh"
        )

    def settle(
        self,
        refund: Refund,
        *,
        succeeded: bool,
        by: ChangedBy,
        failure: str | None = None,
        evidence: dict[str, Any] | None = None,
    ) -> Refund:
        """pending -> final exactly once; a repeat publishes the same event again (same id).

        `evidence` (reconciliation) is recorded on the refund in the same transaction; `by` (what
        settled it) in its history.
        """
        now = self._clock()
        try:
            self._orders.finish_refund(
                refund,
                succeeded=succeeded,
                now_ms=now,
                failure_code=failure,
                failure_message="the provider reported the refund as failed" if failure else None,
                evidence=evidence,
            )
        except TransitionRejectedError as rejected:
            current = Refund.model_validate(rejected.current) if rejected.current else refund
            wanted = RefundStatus.SUCCEEDED if succeeded else RefundStatus.FAILED
            if current.status is not wanted:
                raise ConflictError(f"refund is already {current.status.value}", code="refund_state_conflict") from None
            self._publisher.publish(refund_finished(current))
            return current
        settled = self._orders.get_refund(refund.app_id, refund.refund_no)
        assert settled is not None
        self._note(settled, status_changed(settled.status), {"by": by})
        self._publisher.publish(refund_finished(settled))
        return settled

    def _note(self, refund: Refund, what: str, detail: Detail | None = None) -> None:
        """One fact in the refund's history (best effort: never raises)."""
        self._history.record(refund.app_id, OrderKind.REFUND, refund.refund_no, what, detail)

    def _resend(self, creds: BeeCloudCredentials, refund: Refund) -> Refund:
        """BeeCloud has no record of this pending refund: send it again under the same refund_no."""
        try:
            accepted = self._send(creds, refund)
        except ProviderRejectedError as error:
            if error.outcome_unknown or error.code in _MAYBE_ALREADY_THERE:
                return refund  # it may have arrived after all: stays pending, the next refresh asks again
            self._note(refund, PROVIDER_REJECTED, {**provider_refusal(error), "resent": True})
            return self.settle(refund, succeeded=False, failure=failure_code(error), by="refresh")
        except ProviderRequestError as error:
            # It can never be sent, and BeeCloud has no record of it: waiting would hold the bill forever.
            return self.settle(refund, succeeded=False, failure=failure_code(error), by="refresh")
        except ProviderError:
            return refund  # no answer this time either; nothing changed
        self._note(refund, PROVIDER_CREATED, {"resent": True})
        return self._record_accepted(refund, accepted)

    def _record_accepted(self, refund: Refund, accepted: RefundAccepted) -> Refund:
        """Keep BeeCloud's approval URL on the pending refund. A webhook or a refresh may have
        finished the refund while BeeCloud's answer travelled: the refund as it stands is the answer."""
        try:
            return self._orders.record_refund_accepted(
                refund.app_id, refund.refund_no, accepted.url, now_ms=self._clock()
            )
        except TransitionRejectedError as rejected:
            if rejected.current:
                return Refund.model_validate(rejected.current)
            current = self._orders.get_refund(refund.app_id, refund.refund_no)
            assert current is not None  # refunds are never deleted
            return current

    def _send(self, creds: BeeCloudCredentials, refund: Refund) -> RefundAccepted:
        return self._beecloud.refund(
            creds,
            channel=refund.channel.family,
            refund_no=refund.refund_no,
            bill_no=refund.bill_no,
            refund_fee=refund.refund_fee,
            optional=refund.optional,
        )

    def _call_provider(self, creds: BeeCloudCredentials, refund: Refund) -> Refund:
        try:
            accepted = self._send(creds, refund)
        except ProviderError as error:
            api_error = to_api_error(error)
            if error.outcome_unknown:
                self._note(refund, PROVIDER_UNKNOWN, {"reason": failure_code(error)})
            else:
                # BeeCloud certainly did not take it: release the bill so the merchant can retry.
                # A concurrent refresh that already finished it wins (its state is published).
                self._note(refund, PROVIDER_REJECTED, provider_refusal(error))
                changed = False
                with contextlib.suppress(TransitionRejectedError):
                    self._orders.finish_refund(
                        refund,
                        succeeded=False,
                        now_ms=self._clock(),
                        failure_code=failure_code(error),
                        failure_message=api_error.message,
                    )
                    changed = True
                failed = self._orders.get_refund(refund.app_id, refund.refund_no)
                if failed is not None:
                    if changed:
                        self._note(failed, status_changed(failed.status), {"by": "create"})
                    self._publisher.publish(refund_finished(failed))
            raise api_error from error
        self._note(refund, PROVIDER_CREATED)
        return self._record_accepted(refund, accepted)

    @staticmethod
    def _refusal(request: CreateRefundRequest, now: int) -> PaygateError | None:
        try:
            request.check_date(now)
        except ValueError as error:
            return InvalidRequestError(str(error), code="invalid_refund_no")
        return None

    def _existing_or_raise(
        self, app: App, request: CreateRefundRequest, refused: PaygateError | None
    ) -> Created[Refund]:
        """A repeat of an existing refund gets it back (or 409 for another body); anything else is `refused`."""
        existing = self._orders.get_refund(app.app_id, request.refund_no)
        if existing is None:
            raise refused or NotFoundError("no bill with this bill_no", code="bill_not_found")
        return Created(self._same_or_conflict(existing, request), created=False)

    @staticmethod
    def _same_or_conflict(existing: Refund, request: CreateRefundRequest) -> Refund:
        if existing.request_hash != request.fingerprint():
            raise ConflictError("refund_no was already used with different parameters", code="refund_no_conflict")
        return existing


def _reservation_error(reason: str) -> ConflictError | NotFoundError:
    if reason == "bill_not_found":
        return NotFoundError("no bill with this bill_no", code="bill_not_found")
    messages = {
        "bill_not_paid": "only a paid bill can be refunded",
        "refund_in_progress": "the bill already has a refund in progress or refunded (one refund per bill)",
        "too_large": "refund_fee exceeds what is left to refund on the bill",
        "contention": "the bill is being changed concurrently; retry",
    }
    codes = {"too_large": "refund_exceeds_bill", "contention": "request_in_progress"}
    return ConflictError(messages.get(reason, reason), code=codes.get(reason, reason))
