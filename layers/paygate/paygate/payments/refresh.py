"""Settling a bill whose webhook was lost: ask BeeCloud, then move it exactly as the webhook would.

BeeCloud's PAY webhook is the normal path. When it never arrives the payer has paid and the
ledger still says pending; two paths ask BeeCloud's bill query instead of waiting for the daily
reconciliation:

- `POST /bills/{bill_no}/refresh` (the merchant asks now), and
- follow-ups: CreateBill queues one delayed message per bill created at BeeCloud; the
  BillFollowUp function refreshes the bill and, while it stays pending, queues at most
  `FollowUpSchedule.attempts - 1` more, at growing delays, then leaves it to reconciliation.

Both settle with the webhook's conditional write (pending, same amount, same channel family,
CNY) plus BeeCloud's record as evidence (`reconciled_by`), and publish the webhook's event
(`bill.succeeded`, same deterministic id). A bill already final costs one GetItem and no
provider call. A record that disagrees with the ledger moves nothing: it is reported as a
`reconciliation.mismatch` event and answered as `409 provider_mismatch`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field

from paygate.bus import EventPublisher
from paygate.clock import iso_from_ms, now_ms
from paygate.credentials import BeeCloudCredentials
from paygate.errors import (
    ConflictError,
    NotFoundError,
    PaygateError,
    ProviderError,
    ServiceUnavailableError,
    to_api_error,
)
from paygate.events import Mismatch, MismatchKind, bill_succeeded, reconciliation_mismatch
from paygate.history import NO_HISTORY, OrderHistory, status_changed
from paygate.models import CURRENCY_CNY, Bill, BillStatus, OrderKind, ProviderState
from paygate.providers.beecloud import BILLS_PATH, BeeCloudBill, BeeCloudClient
from paygate.store.orders import OrdersStore, TransitionRejectedError

# A child of the function's Logger: JSON, its service, correlation id and keys, its level.
logger = Logger(child=True)

# SQS's longest per-message delay.
MAX_DELAY_S = 900

RefreshedBy = Literal["refresh", "follow_up"]


class BillMismatchError(ConflictError):
    """BeeCloud has the bill paid, but not as the ledger recorded it: nothing moved, it was reported."""

    code = "provider_mismatch"


class BillRefresher:
    """One bill: the ledger first (final: done), then BeeCloud's bill query, then the webhook's write."""

    def __init__(
        self,
        orders: OrdersStore,
        beecloud: BeeCloudClient,
        publisher: EventPublisher,
        *,
        refreshed_by: RefreshedBy = "refresh",
        history: OrderHistory = NO_HISTORY,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._orders = orders
        self._beecloud = beecloud
        self._publisher = publisher
        self._refreshed_by = refreshed_by
        self._history = history
        self._clock = clock

    def refresh(self, app_id: str, bill_no: str, credentials: Callable[[], BeeCloudCredentials]) -> Bill:
        """The bill as it stands after asking BeeCloud (when still pending); 404 for another app's bill.

        `credentials` is called only when BeeCloud must be asked, so a final bill reads no secret.
        """
        bill = self._orders.get_bill(app_id, bill_no)
        if bill is None:
            raise NotFoundError("no bill with this bill_no", code="bill_not_found")
        if bill.status is BillStatus.SUCCEEDED and bill.reconciled_by is not None:
            # Settled by a refresh or reconciliation, whose publish may have failed: again, same id.
            self._publisher.publish(bill_succeeded(bill))
        if bill.status is not BillStatus.PENDING:
            return bill
        try:
            records = self._beecloud.query_bills(
                credentials(), channel=bill.channel.family, bill_no=bill.bill_no, limit=1
            )
        except ProviderError as error:
            raise to_api_error(error) from error
        record = next((r for r in records if r.bill_no == bill.bill_no), None)
        if record is None or not record.spay_result:
            return bill  # unpaid (or never reached BeeCloud): stays pending
        mismatch = _difference(bill, record)
        if mismatch is not None:
            raise self._report(mismatch)
        return self._mark_paid(bill, record)

    def _mark_paid(self, bill: Bill, record: BeeCloudBill) -> Bill:
        now = self._clock()
        evidence = {
            "source": f"beecloud {BILLS_PATH}",
            "at": iso_from_ms(now),
            "by": self._refreshed_by,
            "record": asdict(record),
        }
        try:
            paid = self._orders.mark_bill_paid(
                bill.app_id,
                bill.bill_no,
                total_fee=record.total_fee,
                now_ms=now,
                evidence=evidence,
                channel_family=record.channel.split("_", 1)[0],
                currency=CURRENCY_CNY,
            )
        except TransitionRejectedError as rejected:
            current = Bill.model_validate(rejected.current) if rejected.current else bill
            if current.status is BillStatus.SUCCEEDED:  # the webhook got there first
                self._publisher.publish(bill_succeeded(current))  # at-least-once, same event id
                return current
            raise self._report(
                _mismatch(
                    current,
                    record,
                    "provider_paid_ledger_failed",
                    "the ledger refused the pending -> succeeded transition",
                )
            ) from None
        by = self._refreshed_by
        self._history.record(paid.app_id, OrderKind.BILL, paid.bill_no, status_changed(paid.status), {"by": by})
        self._publisher.publish(bill_succeeded(paid))
        logger.info("bill settled from the provider's query", extra={"bill_no": bill.bill_no, "by": by})
        return paid

    def _report(self, mismatch: Mismatch) -> BillMismatchError:
        """Publish the finding (same key as reconciliation's, so one event id); the caller raises the answer."""
        data = {"found_by": self._refreshed_by, **mismatch.to_json()}
        self._publisher.publish(reconciliation_mismatch(mismatch.app_id, mismatch.key, self._clock(), data))
        logger.warning(
            "bill not settled: the provider's record differs from the ledger",
            extra={"bill_no": mismatch.order_no, "mismatch": mismatch.kind.value},
        )
        return BillMismatchError(
            "BeeCloud reports this bill paid but not as recorded (amount or channel); "
            "it was not settled and is reported for reconciliation"
        )


def _difference(bill: Bill, record: BeeCloudBill) -> Mismatch | None:
    """What the PAY webhook's checks would refuse: another amount or another channel."""
    if record.total_fee != bill.total_fee:
        return _mismatch(bill, record, "amount_differs", "total_fee differs")
    family = record.channel.split("_", 1)[0]
    if family != bill.channel.family or ("_" in record.channel and record.channel != bill.channel.value):
        detail = f"channel {record.channel} at BeeCloud, {bill.channel.value} in the ledger"
        return _mismatch(bill, record, "details_differ", detail)
    return None


def _mismatch(bill: Bill, record: BeeCloudBill, kind: str, detail: str) -> Mismatch:
    """Reconciliation's kind of finding, so both report one difference under one event id."""
    return Mismatch(
        app_id=bill.app_id,
        provider="beecloud",
        order_kind="bill",
        order_no=bill.bill_no,
        kind=MismatchKind(kind),
        ledger_status=bill.status.value,
        provider_status="paid" if record.spay_result else "unpaid",
        ledger_amount=bill.total_fee,
        provider_amount=record.total_fee,
        detail=detail,
        provider_record=asdict(record),
    )


# ---------------------------------------------------------------------------------- follow-ups


class FollowUp(BaseModel):
    """The BillFollowUpQueue message: which bill, and which attempt this is (1 = the first)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: Literal["bill_follow_up"] = "bill_follow_up"
    app_id: str = Field(min_length=1, max_length=64)
    bill_no: str = Field(pattern=r"^[0-9A-Za-z]{1,32}$")
    attempt: int = Field(default=1, ge=1)


@dataclass(frozen=True)
class FollowUpSchedule:
    """Attempt n waits first_delay_s * 2^(n-1) after the previous one, capped at SQS's 900 s."""

    first_delay_s: int
    attempts: int = 3

    def delay_before(self, attempt: int) -> int:
        return max(0, min(MAX_DELAY_S, self.first_delay_s << (attempt - 1)))


def needs_follow_up(bill: Bill, answered_since_ms: int) -> bool:
    """A bill BeeCloud created for this request (its answer stored since it began) and still pending.

    An identical repeat of an older bill schedules nothing: the first request already did.
    """
    return (
        bill.status is BillStatus.PENDING
        and bill.provider_state == ProviderState.CREATED.value
        and bill.updated_at_ms >= answered_since_ms
    )


class FollowUpScheduler:
    """Queues follow-ups: the first when a bill is created at BeeCloud, the next while it stays pending."""

    def __init__(self, send: Callable[[FollowUp, int], None], schedule: FollowUpSchedule) -> None:
        self._send = send
        self._schedule = schedule

    def start(self, bill: Bill) -> bool:
        """Queue the first follow-up; False (logged) if the queue refused: reconciliation still covers it."""
        try:
            self._send(FollowUp(app_id=bill.app_id, bill_no=bill.bill_no), self._schedule.delay_before(1))
        except Exception:  # never fail the bill creation for it
            logger.warning("bill follow-up not queued", exc_info=True, extra={"bill_no": bill.bill_no})
            return False
        return True

    def next(self, follow_up: FollowUp) -> bool:
        """Queue the attempt after `follow_up`; False when it was the last one."""
        attempt = follow_up.attempt + 1
        if attempt > self._schedule.attempts:
            return False
        self._send(follow_up.model_copy(update={"attempt": attempt}), self._schedule.delay_before(attempt))
        return True


FollowUpOutcome = Literal["succeeded", "failed", "pending", "given_up", "reported", "gone"]


class BillFollowUps:
    """One follow-up attempt: refresh the bill, and queue the next attempt while it stays pending."""

    def __init__(
        self,
        refresher: BillRefresher,
        scheduler: FollowUpScheduler,
        credentials_of: Callable[[str], BeeCloudCredentials],
    ) -> None:
        self._refresher = refresher
        self._scheduler = scheduler
        self._credentials_of = credentials_of

    def run(self, follow_up: FollowUp) -> FollowUpOutcome:
        """Our own failures (storage, bus, secrets, queue) raise, so SQS delivers the message again."""
        try:
            bill = self._refresher.refresh(
                follow_up.app_id, follow_up.bill_no, lambda: self._credentials_of(follow_up.app_id)
            )
        except BillMismatchError:
            return "reported"
        except NotFoundError:
            return "gone"
        except ServiceUnavailableError:
            raise
        except PaygateError as error:  # BeeCloud unreachable or refusing: this attempt learned nothing
            logger.warning("bill follow-up could not ask the provider", extra={"code": error.code})
            bill = None
        if bill is None or bill.status is BillStatus.PENDING:
            # After the last attempt the daily reconciliation settles or reports it.
            return "pending" if self._scheduler.next(follow_up) else "given_up"
        return "succeeded" if bill.status is BillStatus.SUCCEEDED else "failed"
