"""Settling payouts and collections: one conditional transition, then its event, exactly once in meaning.

Notify (callback), poll (PollPending) and the create call itself may all try to settle the same
order, in any order and any number of times. Only the first conditional write applies; whoever
finds the order already in the wanted state treats it as a duplicate and publishes the event
again only if it may not have gone out yet (same deterministic id either way).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from paygate.bus import EventPublisher
from paygate.clock import now_ms
from paygate.errors import (
    REQUEST_NOT_SENT,
    ConflictError,
    ProviderError,
    ProviderRejectedError,
    ProviderTimeoutError,
    failure_code,
    stored_failure,
    to_api_error,
)
from paygate.events import transfer_detail_type, transfer_event
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
from paygate.models import Collection, Created, OrderKind, Payout, ProviderState, TransferStatus
from paygate.store.orders import AlreadyExistsError, TransitionRejectedError
from paygate.store.transfers import Transfer, TransfersStore, UnknownFrom, transfer_from

# A child of the function's Logger: JSON, its service, correlation id and keys, its level.
logger = Logger(child=True)


class SettlementConflictError(Exception):
    """The order cannot take this outcome (unknown order, other BeilyPay order, amount, or final otherwise).

    `code` is the reason in a word an order's history can keep (see CallbackRejectedError).
    """

    def __init__(self, reason: str, *, code: str = "state_conflict") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class Settled:
    transfer: Transfer
    applied: bool  # False: the order already had this outcome (a duplicate notify or poll)


class TransferLedger:
    """The only code that moves a payout or collection to a reported state and publishes its event."""

    def __init__(
        self,
        store: TransfersStore,
        publisher: EventPublisher,
        *,
        history: OrderHistory = NO_HISTORY,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._history = history
        self._clock = clock

    def settle(
        self,
        kind: OrderKind,
        app_id: str,
        out_order_no: str,
        *,
        succeeded: bool,
        provider_order_no: str,
        by: ChangedBy,
        amount: int | None = None,
        paid: int | None = None,
        pay_time: str | None = None,
        evidence: dict[str, Any] | None = None,
    ) -> Settled:
        """pending|unknown -> succeeded|failed once; a repeat of the same outcome is a duplicate.

        `evidence` (reconciliation) is recorded on the order in the same conditional write; `by`
        (what settled it) in its history.
        """
        try:
            transfer = self._store.finish(
                kind,
                app_id,
                out_order_no,
                succeeded=succeeded,
                provider_order_no=provider_order_no,
                now_ms=self._clock(),
                amount=amount,
                paid=paid,
                pay_time=pay_time,
                evidence=evidence,
            )
        except TransitionRejectedError as rejected:
            if rejected.current is None:
                raise SettlementConflictError(f"unknown {kind.value}", code="unknown_order") from None
            current = transfer_from(kind, rejected.current)
            if current.provider_order_no is not None and current.provider_order_no != provider_order_no:
                raise SettlementConflictError("orderNo mismatch", code="order_no_mismatch") from None
            if amount is not None and current.amount != amount:
                raise SettlementConflictError("amount mismatch", code="amount_mismatch") from None
            wanted = TransferStatus.SUCCEEDED if succeeded else TransferStatus.FAILED
            same = (
                current.status is wanted
                and current.provider_order_no == provider_order_no
                and (amount is None or current.amount == amount)
                and (paid is None or getattr(current, "paid", None) == paid)
            )
            if not same:
                raise SettlementConflictError(
                    f"{kind.value} is {current.status.value} (order {current.provider_order_no}), "
                    f"cannot become {wanted.value}"
                ) from None
            self.ensure_reported(kind, current)
            return Settled(current, applied=False)
        logger.info(
            "transfer settled",
            extra={"kind": kind.value, "out_order_no": out_order_no, "status": transfer.status.value},
        )
        self.note(kind, transfer, status_changed(transfer.status), {"by": by})
        self.report(kind, transfer)
        return Settled(transfer, applied=True)

    def mark_unknown(
        self, kind: OrderKind, app_id: str, out_order_no: str, *, expected: UnknownFrom, reason: str, by: ChangedBy
    ) -> Transfer | None:
        """pending -> unknown and `<kind>.unknown` published; returns what is stored either way."""
        try:
            transfer = self._store.mark_unknown(
                kind, app_id, out_order_no, expected=expected, reason=reason, now_ms=self._clock()
            )
        except TransitionRejectedError as rejected:
            # Settled (or marked) by someone else in the meantime: nothing to do here.
            return transfer_from(kind, rejected.current) if rejected.current else None
        logger.warning(
            "transfer outcome unknown",
            extra={"kind": kind.value, "out_order_no": out_order_no, "reason": reason},
        )
        self.note(kind, transfer, status_changed(transfer.status), {"by": by, "reason": reason})
        self.report(kind, transfer)
        return transfer

    def note(self, kind: OrderKind, transfer: Transfer, what: str, detail: Detail | None = None) -> None:
        """One fact in the order's history (best effort: never raises)."""
        self._history.record(transfer.app_id, kind, transfer.out_order_no, what, detail)

    def ensure_reported(self, kind: OrderKind, transfer: Transfer) -> None:
        """Publish the current state's event unless it is known to have gone out already."""
        detail_type = transfer_detail_type(transfer)
        if detail_type is not None and transfer.published_event != detail_type:
            self.report(kind, transfer)

    def report(self, kind: OrderKind, transfer: Transfer) -> None:
        """Publish (raises PublishError: then the trigger must not be acknowledged), then remember it."""
        event = transfer_event(transfer)
        self._publisher.publish(event)
        self._store.mark_published(kind, transfer.app_id, transfer.out_order_no, event.detail_type)


# How long an identical repeat waits for a concurrent first create call before answering
# 409 request_in_progress. The create itself is never sent twice.
WAIT_FOR_CONCURRENT_S = 12.0
_POLL_S = 0.05


class CreateFlow:
    """Record first, start the poller, then call BeilyPay exactly once; repeats get the stored order.

    The poller is started before the create call so that even a function dying mid-call leaves
    an order that ends up reported (`unknown`, reason create_interrupted) instead of silently
    pending. BeilyPay can only be queried by its own orderNo, so an order whose create answer
    was lost becomes `unknown` and is never re-sent: re-sending would pay twice.

    No exception leaves an order `calling`: one before the create was sent (the poller would
    not start, the adapter refused to build the request) fails it with a code that says nothing
    was sent; one after it may have been sent makes it `unknown`, reported like a lost answer.
    """

    kind: OrderKind

    def __init__(
        self,
        store: TransfersStore,
        ledger: TransferLedger,
        starter: PollerStarterLike,
        *,
        lease_ms: int,
        clock: Callable[[], int] = now_ms,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._starter = starter
        self._lease_ms = lease_ms
        self._clock = clock
        self._sleep = sleep

    def _record(self, transfer: Transfer) -> Created[Transfer] | None:
        """Insert; for an existing order, the repeat's answer (or 409 for a different body)."""
        try:
            self._store.put_new_transfer(self.kind, transfer)
        except AlreadyExistsError as exists:
            existing = transfer_from(self.kind, exists.existing)
            if existing.request_hash != transfer.request_hash:
                raise ConflictError(
                    "out_order_no was already used with different parameters", code="out_order_no_conflict"
                ) from None
            return Created(self._repeat(existing), created=False)
        try:
            self._starter.start(self.kind, transfer)
        except Exception:
            # Without its poller the order must not be sent; nothing was, so it fails for good.
            with contextlib.suppress(Exception):
                failed = self._store.record_rejected(
                    self.kind,
                    transfer.app_id,
                    transfer.out_order_no,
                    code=REQUEST_NOT_SENT,
                    message=f"the {self.kind.value} could not be started; nothing was sent to BeilyPay",
                    now_ms=self._clock(),
                )
                detail: Detail = {"by": "create", "code": REQUEST_NOT_SENT}
                self._ledger.note(self.kind, failed, status_changed(failed.status), detail)
            raise
        return None

    def _repeat(self, transfer: Transfer) -> Transfer:
        deadline = time.monotonic() + WAIT_FOR_CONCURRENT_S
        while transfer.provider_state == ProviderState.CALLING.value and transfer.status is TransferStatus.PENDING:
            if transfer.lease_until_ms < self._clock():
                current = self._ledger.mark_unknown(
                    self.kind,
                    transfer.app_id,
                    transfer.out_order_no,
                    expected="stale",
                    reason="create_interrupted",
                    by="create",
                )
                transfer = current or transfer
                break
            if time.monotonic() >= deadline:
                raise ConflictError(
                    f"an identical request for this {self.kind.value} is still in progress; retry shortly",
                    code="request_in_progress",
                )
            self._sleep(_POLL_S)
            current = self._store.get_transfer(self.kind, transfer.app_id, transfer.out_order_no)
            assert current is not None, "orders are never deleted"
            transfer = current
        if transfer.provider_state == ProviderState.REJECTED.value:
            raise stored_failure(
                transfer.failure_code or "provider_error", transfer.failure_message or "BeilyPay refused the order"
            )
        if transfer.status is TransferStatus.PENDING:
            self._starter.start(self.kind, transfer)  # no-op if running; restarts a poller that never started
        return transfer

    def _after_call(self, transfer: Transfer, call: Callable[[], Transfer]) -> Transfer:
        """Run the provider call; map its failure to `unknown` (maybe done) or `failed` (certainly not)."""
        try:
            return call()
        except ProviderError as error:
            if error.outcome_unknown:
                reason = (
                    "create_timeout"
                    if isinstance(error, ProviderTimeoutError)
                    else "create_indeterminate_answer"
                    if isinstance(error, ProviderRejectedError)
                    else "create_response_lost"
                )
                self._ledger.note(self.kind, transfer, PROVIDER_UNKNOWN, {"reason": reason})
                current = self._ledger.mark_unknown(
                    self.kind, transfer.app_id, transfer.out_order_no, expected="calling", reason=reason, by="create"
                )
                return current or transfer
            api_error = to_api_error(error)
            failed: Transfer | None = None
            # The condition can only fail if a (forged) notify raced a definite rejection.
            with contextlib.suppress(TransitionRejectedError):
                failed = self._store.record_rejected(
                    self.kind,
                    transfer.app_id,
                    transfer.out_order_no,
                    code=failure_code(error),
                    message=api_error.message,
                    now_ms=self._clock(),
                )
            self._ledger.note(self.kind, transfer, PROVIDER_REJECTED, provider_refusal(error))
            if failed is not None:
                self._ledger.note(self.kind, failed, status_changed(failed.status), {"by": "create"})
            raise api_error from error
        except Exception:
            # Outside the adapter's contract (or storing its answer failed): it may have been sent.
            with contextlib.suppress(Exception):
                self._ledger.mark_unknown(
                    self.kind,
                    transfer.app_id,
                    transfer.out_order_no,
                    expected="calling",
                    reason="create_interrupted",
                    by="create",
                )
            raise

    def _created(self, transfer: Transfer, provider_order_no: str, record: Callable[[], Transfer]) -> Transfer:
        """Store BeilyPay's answer (its orderNo), then tell the order's history."""
        try:
            stored = record()
        except TransitionRejectedError as rejected:
            # A notify (or the poller) settled it before the create's answer was stored.
            stored = transfer_from(self.kind, rejected.current) if rejected.current else transfer
        self._ledger.note(self.kind, transfer, PROVIDER_CREATED, {"provider_order_no": provider_order_no})
        return stored


def created_as[T: (Payout, Collection)](kind: type[T], transfer: Transfer, *, created: bool) -> Created[T]:
    """A create flow's order as the service's own type; `outcome_unknown` when its answer was lost."""
    if not isinstance(transfer, kind):
        raise TypeError(f"a {kind.__name__} flow produced {type(transfer).__name__}")
    return Created(transfer, created=created, outcome_unknown=created and transfer.status is TransferStatus.UNKNOWN)


class PollerStarterLike(Protocol):
    def start(self, kind: OrderKind, transfer: Transfer) -> bool: ...
