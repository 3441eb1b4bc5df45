"""BeilyPay notifies: verify the sign, re-check against the ledger, settle once, publish.

One URL per paygate app (`/callbacks/beilypay/{app_id}`) receives both kinds: a payout notify
carries `payAmount` (and appId/merchantId), a collection notify carries `paid`. Nothing changes
unless the notify verifies with that app's BeilyPay secret AND matches the recorded order:
same out_order_no, same BeilyPay orderNo (when we already know it), same amount (payouts), a
plausible `paid` (collections). The handler answers `SUCC` only after this returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from paygate.credentials import BeilyPayCredentials
from paygate.errors import CallbackRejectedError, WebhookVerificationError
from paygate.models import App, CallbackResult, OrderKind
from paygate.providers.beilypay import (
    CollectionStatus,
    PayoutStatus,
    verify_collection_notify,
    verify_payout_notify,
)
from paygate.store.transfers import Transfer, TransfersStore
from paygate.transfers.ledger import SettlementConflictError, TransferLedger


def is_collection_notify(payload: Mapping[str, Any]) -> bool:
    """BeilyPay's two notify shapes: only the collection notify has `paid` and lacks `payAmount`."""
    return "paid" in payload and "payAmount" not in payload


# Ends an order's Step Functions poller: (kind, app_id, out_order_no).
StopPoller = Callable[[OrderKind, str, str], None]


class BeilyPayCallbacks:
    def __init__(self, store: TransfersStore, ledger: TransferLedger, stop_poller: StopPoller | None = None) -> None:
        self._store = store
        self._ledger = ledger
        self._stop_poller = stop_poller

    def handle(self, app: App, creds: BeilyPayCredentials, payload: Mapping[str, Any]) -> CallbackResult:
        """Raises CallbackRejectedError for anything forged or not matching the ledger."""
        if is_collection_notify(payload):
            return self._collection(app, creds, payload)
        return self._payout(app, creds, payload)

    def _payout(self, app: App, creds: BeilyPayCredentials, payload: Mapping[str, Any]) -> CallbackResult:
        try:
            notify = verify_payout_notify(payload, creds)
        except WebhookVerificationError as error:
            raise CallbackRejectedError(f"signature: {error}") from None
        if notify.status == PayoutStatus.PENDING:  # the old doc's status 1: nothing to record, only to check
            payout = self._order(OrderKind.PAYOUT, app, notify.out_order_no, notify.order_no)
            if notify.amount != payout.amount:
                raise CallbackRejectedError("amount mismatch")
            return CallbackResult("ignored")
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
            raise CallbackRejectedError(f"signature: {error}") from None
        if notify.status == CollectionStatus.PENDING:
            self._order(OrderKind.COLLECTION, app, notify.out_order_no, notify.order_no)
            return CallbackResult("ignored")
        succeeded = notify.status == CollectionStatus.PAID
        # `paid` may differ from the amount (recorded as reported), but a success paying nothing
        # or a failure that kept money is not something BeilyPay sends: refuse it.
        if succeeded and notify.paid <= 0:
            raise CallbackRejectedError("paid mismatch: success without payment")
        if not succeeded and notify.paid != 0:
            raise CallbackRejectedError("paid mismatch: failure with payment")
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
            raise CallbackRejectedError(f"unknown {kind.value}")
        if transfer.provider_order_no is not None and transfer.provider_order_no != order_no:
            raise CallbackRejectedError("orderNo mismatch")
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
                amount=amount,
                paid=paid,
                pay_time=pay_time,
            )
        except SettlementConflictError as conflict:
            raise CallbackRejectedError(conflict.reason) from None
        if settled.applied and self._stop_poller is not None:
            self._stop_poller(kind, app.app_id, out_order_no)
        return CallbackResult("applied" if settled.applied else "duplicate")
