"""Provider callbacks: verify the signature, re-check against the ledger, transition once, publish.

Nothing changes unless the callback is authentic AND matches the order we recorded (app, order
number, amount, channel family, currency). A duplicate of an applied callback is acknowledged
and its event published again with the same id (at-least-once), never applied twice.

BeeCloud's legacy `sign` covers only app id, app secret and timestamp: a captured webhook keeps a
valid `sign` whatever order number and amount are written into it. So a webhook that only `sign`
vouches for moves nothing until BeeCloud itself confirms the payment or refund (one query).

Every webhook about a bill or refund the app has goes into that order's history: accepted (and
what it did) or refused (and why). One naming an order we never recorded leaves nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger

from paygate.bus import EventPublisher
from paygate.clock import now_ms
from paygate.credentials import BeeCloudCredentials
from paygate.errors import CallbackRejectedError, ConflictError, ProviderError, WebhookVerificationError, to_api_error
from paygate.events import bill_succeeded
from paygate.history import NO_HISTORY, OrderHistory, record_callback, record_refusal, status_changed
from paygate.models import CURRENCY_CNY, App, Bill, BillStatus, CallbackResult, OrderKind, Refund, RefundStatus
from paygate.payments.refunds import RefundService
from paygate.providers.beecloud import BeeCloudClient, BeeCloudWebhook, named_order, verify_webhook
from paygate.store.orders import OrdersStore, TransitionRejectedError

# A child of the function's Logger: JSON, its service, correlation id and keys, its level.
logger = Logger(child=True)

SOURCE = "beecloud"
_KINDS = {"PAY": OrderKind.BILL, "REFUND": OrderKind.REFUND}


class BeeCloudCallbacks:
    def __init__(
        self,
        orders: OrdersStore,
        refunds: RefundService,
        publisher: EventPublisher,
        *,
        beecloud: BeeCloudClient | None = None,
        history: OrderHistory = NO_HISTORY,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._orders = orders
        self._refunds = refunds
        self._publisher = publisher
        self._beecloud = beecloud  # confirms weakly signed webhooks; None refuses them
        self._history = history
        self._clock = clock

    def handle(self, app: App, creds: BeeCloudCredentials, payload: Mapping[str, Any]) -> CallbackResult:
        received = self._clock()
        try:
            result = self._handle(app, creds, payload)
        except CallbackRejectedError as rejected:
            if rejected.code != "unknown_order":
                record_refusal(self._history, SOURCE, app.app_id, self._named(app, payload), rejected, at_ms=received)
            raise
        record_callback(self._history, SOURCE, app.app_id, result, at_ms=received)
        return result

    def _handle(self, app: App, creds: BeeCloudCredentials, payload: Mapping[str, Any]) -> CallbackResult:
        try:
            hook = verify_webhook(payload, creds)
        except WebhookVerificationError as error:
            raise CallbackRejectedError(f"signature: {error}", code=error.code) from None
        if hook.trade_success and hook.transaction_type == "PAY":
            return self._paid(app, creds, hook)
        if hook.trade_success and hook.transaction_type == "REFUND":
            return self._refunded(app, creds, hook)
        # BeeCloud: false is not a failure (e.g. WAIT_BUYER_PAY); told to the order's history only.
        named = self._named(app, payload)
        return CallbackResult("ignored", *named) if named else CallbackResult("ignored")

    def _named(self, app: App, payload: Mapping[str, Any]) -> tuple[OrderKind, str] | None:
        """The bill or refund of this app the webhook names, if the ledger has it (one read, never raises)."""
        named = named_order(payload)
        kind = _KINDS.get(named[0]) if named else None
        if named is None or kind is None:
            return None
        try:
            if kind is OrderKind.BILL:
                found: Bill | Refund | None = self._orders.get_bill(app.app_id, named[1])
            else:
                found = self._orders.get_refund(app.app_id, named[1])
        except Exception:  # only the history needed it
            logger.warning("order named by a webhook not looked up", extra={"kind": kind.value}, exc_info=True)
            return None
        return (kind, named[1]) if found is not None else None

    def _paid(self, app: App, creds: BeeCloudCredentials, hook: BeeCloudWebhook) -> CallbackResult:
        """One conditional write checks everything the ledger must match; the bill is read first
        only for a `sign`-only webhook, which BeeCloud must confirm before anything moves."""
        if hook.verified_by != "signature":
            bill = self._orders.get_bill(app.app_id, hook.transaction_id)
            if bill is None:
                raise CallbackRejectedError("unknown bill", code="unknown_order")
            _check_matches(bill.total_fee, bill.channel.family, bill.currency, hook)
            if bill.status is BillStatus.PENDING:
                self._confirm_paid(creds, bill)
        try:
            paid = self._orders.mark_bill_paid(
                app.app_id,
                hook.transaction_id,
                total_fee=hook.transaction_fee,
                now_ms=self._clock(),
                channel_family=hook.channel_type.upper() if hook.channel_type else None,
                currency=CURRENCY_CNY,
            )
        except TransitionRejectedError as rejected:
            if rejected.current is None:
                raise CallbackRejectedError("unknown bill", code="unknown_order") from None
            current = Bill.model_validate(rejected.current)
            _check_matches(current.total_fee, current.channel.family, current.currency, hook)
            if current.status is BillStatus.SUCCEEDED:
                self._publisher.publish(bill_succeeded(current))
                return CallbackResult("duplicate", OrderKind.BILL, current.bill_no)
            raise CallbackRejectedError(f"bill is {current.status.value}", code="state_conflict") from None
        self._history.record(app.app_id, OrderKind.BILL, paid.bill_no, status_changed(paid.status), {"by": "callback"})
        self._publisher.publish(bill_succeeded(paid))
        return CallbackResult("applied", OrderKind.BILL, paid.bill_no)

    def _refunded(self, app: App, creds: BeeCloudCredentials, hook: BeeCloudWebhook) -> CallbackResult:
        refund = self._orders.get_refund(app.app_id, hook.transaction_id)
        if refund is None:
            raise CallbackRejectedError("unknown refund", code="unknown_order")
        _check_matches(refund.refund_fee, refund.channel.family, refund.currency, hook)
        if hook.verified_by != "signature" and refund.status is RefundStatus.PENDING:
            self._confirm_refunded(creds, refund)
        was_pending = refund.status is RefundStatus.PENDING
        try:
            self._refunds.settle(refund, succeeded=True, by="callback")
        except ConflictError:  # a refund we already failed cannot now succeed silently
            raise CallbackRejectedError(f"refund is {refund.status.value}", code="state_conflict") from None
        return CallbackResult("applied" if was_pending else "duplicate", OrderKind.REFUND, refund.refund_no)

    def _confirm_paid(self, creds: BeeCloudCredentials, bill: Bill) -> None:
        """A `sign`-only PAY webhook is believed only if BeeCloud reports this bill paid, in full."""
        if self._beecloud is None:
            raise CallbackRejectedError("weakly signed webhook and no provider to confirm it", code="not_confirmed")
        try:
            records = self._beecloud.query_bills(creds, channel=bill.channel.value, bill_no=bill.bill_no, limit=1)
        except ProviderError as error:  # not refused: BeeCloud retries, and we ask again then
            raise to_api_error(error) from error
        if not any(r.bill_no == bill.bill_no and r.spay_result and r.total_fee == bill.total_fee for r in records):
            raise CallbackRejectedError("weakly signed webhook not confirmed by the provider", code="not_confirmed")

    def _confirm_refunded(self, creds: BeeCloudCredentials, refund: Refund) -> None:
        """A `sign`-only REFUND webhook is believed only if BeeCloud reports this refund succeeded."""
        if self._beecloud is None:
            raise CallbackRejectedError("weakly signed webhook and no provider to confirm it", code="not_confirmed")
        try:
            records = self._beecloud.query_refunds(
                creds,
                channel=refund.channel.family,
                refund_no=refund.refund_no,
                bill_no=refund.bill_no,
                limit=1,
            )
        except ProviderError as error:
            raise to_api_error(error) from error
        if not any(
            r.refund_no == refund.refund_no and r.finish and r.result and r.refund_fee == refund.refund_fee
            for r in records
        ):
            raise CallbackRejectedError("weakly signed webhook not confirmed by the provider", code="not_confirmed")


def _check_matches(amount: int, family: str, currency: str, hook: BeeCloudWebhook) -> None:
    if hook.transaction_fee != amount:
        raise CallbackRejectedError("amount mismatch", code="amount_mismatch")
    if hook.channel_type and hook.channel_type.upper() != family:
        raise CallbackRejectedError("channel mismatch", code="channel_mismatch")
    if currency != "CNY":
        raise CallbackRejectedError("currency mismatch", code="currency_mismatch")
