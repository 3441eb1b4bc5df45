"""BeilyPay notifies: verify the sign, re-check against the ledger, settle once, publish.

One URL per paygate app (`/callbacks/beilypay/{app_id}`) receives both kinds: a payout notify
carries `payAmount` (and appId/merchantId), a collection notify carries `paid`. Nothing changes
unless the notify verifies with that app's BeilyPay secret AND matches the recorded order:
same out_order_no, same BeilyPay orderNo (when we already know it), same amount (payouts), a
plausible `paid` (collections). The handler answers `SUCC` only after this returns.

Every notify about an order the app has goes into that order's history: accepted (and what it
did) or refused (and why). One naming an order we never recorded leaves nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger

from paygate.clock import now_ms
from paygate.credentials import BeilyPayCredentials
from paygate.errors import CallbackRejectedError, WebhookVerificationError
from paygate.history import NO_HISTORY, OrderHistory, record_callback, record_refusal
from paygate.models import App, CallbackResult, OrderKind
from paygate.providers.beilypay import (
    CollectionStatus,
    PayoutStatus,
    named_order,
    verify_collection_notify,
    verify_payout_notify,
)
from paygate.store.transfers import Transfer, TransfersStore
from paygate.transfers.ledger import SettlementConflictError, TransferLedger


def is_collection_notify(payload: Mapping[str, Any]) -> bool:
    """BeilyPay's two notify shapes: only the collection notify has `paid` and lacks `payAmount`."""
    return "paid" in payload and "payAmount" not in payload


# A child of the function's Logger: JSON, its service, correlation id and keys, its level.
logger = Logger(child=True)

SOURCE = "beilypay"

# Ends an order's Step Functions poller: (kind, app_id, out_order_no).
StopPoller = Callable[[OrderKind, str, str], None]


class BeilyPayCallbacks:
    def __init__(
        self,
        store: TransfersStore,
        ledger: TransferLedger,
        stop_poller: StopPoller | None = None,
        *,
        history: OrderHistory = NO_HISTORY,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._stop_poller = stop_poller
        self._history = history
        self._clock = clock

    def handle(self, app: App, creds: BeilyPayCredentials, payload: Mapping[str, Any]) -> CallbackResult:
        """Raises CallbackRejectedError for anything forged or not matching the ledger."""
        received = self._clock()
        kind = OrderKind.COLLECTION if is_collection_notify(payload) else OrderKind.PAYOUT
        try:
            if kind is OrderKind.COLLECTION:
                result = self._collection(app, creds, payload)
            else:
                result = self._payout(app, creds, payload)
        except CallbackRejectedError as rejected:
            if rejected.code != "unknown_order":
                order = self._named(kind, app, payload)
                record_refusal(self._history, SOURCE, app.app_id, order, rejected, at_ms=received)
            raise
        record_callback(self._history, SOURCE, app.app_id, result, at_ms=received)
        return result

    def _named(self, kind: OrderKind, app: App, payload: Mapping[str, Any]) -> tuple[OrderKind, str] | None:
        """The order of this app the notify names, if the ledger has it (one read, never raises)."""
        number = named_order(payload)
        if number is None:
            return None
        try:
            found = self._store.get_transfer(kind, app.app_id, number)
        except Exception:  # only the history needed it
            logger.warning("order named by a notify not looked up", extra={"kind": kind.value}, exc_info=True)
            return None
        return (kind, number) if found is not None else None

    def _payout(self, app: App, creds: BeilyPayCredentials, payload: Mapping[str, Any]) -> CallbackResult:
        try:
            notify = verify_payout_notify(payload, creds)
        except WebhookVerificationError as error:
            raise CallbackRejectedError(f"signature: {error}", code=error.code) from None
        if notify.status == PayoutStatus.PENDING:  # the old doc's status 1: nothing to record, only to check
            payout = self._order(OrderKind.PAYOUT, app, notify.out_order_no, notify.order_no)
            if notify.amount != payout.amount:
                raise CallbackRejectedError("amount mismatch", code="amount_mismatch")
            return CallbackResult("ignored", OrderKind.PAYOUT, notify.out_order_no)
        return self._settle(
            OrderKind.PAYOUT,
            app,
            notify.out_order_no,
            succeeded=notify.status == PayoutStatus.SUCCEEDED,
            order_no=notify.order_no,
            amount=notify.amount,
            paid=None,
            pay_time=notify.pay_time,
        )

    def _collection(self, app: App, creds: BeilyPayCredentials, payload: Mapping[str, Any]) -> CallbackResult:
        try:
            notify = verify_collection_notify(payload, creds)
        except WebhookVerificationError as error:
            raise CallbackRejectedError(f"signature: {error}", code=error.code) from None
        if notify.status == CollectionStatus.PENDING:
            self._order(OrderKind.COLLECTION, app, notify.out_order_no, notify.order_no)
            return CallbackResult("ignored", OrderKind.COLLECTION, notify.out_order_no)
        succeeded = notify.status == CollectionStatus.PAID
        # `paid` may differ from the amount (recorded as reported), but a success paying nothing
        # or a failure that kept money is not something BeilyPay sends: refuse it.
        if succeeded and notify.paid <= 0:
            raise CallbackRejectedError("paid mismatch: success without payment", code="paid_mismatch")
        if not succeeded and notify.paid != 0:
            raise CallbackRejectedError("paid mismatch: failure with payment", code="paid_mismatch")
        return self._settle(
            OrderKind.COLLECTION,
            app,
            notify.out_order_no,
            succeeded=succeeded,
            order_no=notify.order_no,
            amount=None,
            paid=notify.paid,
            pay_time=notify.pay_time,
        )

    def _order(self, kind: OrderKind, app: App, out_order_no: str, order_no: str) -> Transfer:
        transfer = self._store.get_transfer(kind, app.app_id, out_order_no)
        if transfer is None:
            raise CallbackRejectedError(f"unknown {kind.value}", code="unknown_order")
        if transfer.provider_order_no is not None and transfer.provider_order_no != order_no:
            raise CallbackRejectedError("orderNo mismatch", code="order_no_mismatch")
        return transfer

    def _settle(
        self,
        kind: OrderKind,
        app: App,
        out_order_no: str,
        *,
        succeeded: bool,
        order_no: str,
        amount: int | None,
        paid: int | None,
        pay_time: str | None,
    ) -> CallbackResult:
        try:
            # One conditional write re-checks the ledger (the order exists for this app, same
            # BeilyPay orderNo, same amount) and settles it; a failed check explains itself.
            settled = self._ledger.settle(
                kind,
                app.app_id,
                out_order_no,
                succeeded=succeeded,
                provider_order_no=order_no,
                by="callback",
                amount=amount,
                paid=paid,
                pay_time=pay_time,
            )
        except SettlementConflictError as conflict:
            raise CallbackRejectedError(conflict.reason, code=conflict.code) from None
        if settled.applied and self._stop_poller is not None:
            self._stop_poller(kind, app.app_id, out_order_no)
        return CallbackResult("applied" if settled.applied else "duplicate", kind, out_order_no)
