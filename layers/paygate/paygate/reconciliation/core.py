"""Reconciliation: compare the ledger with the providers, fix what they prove, report the rest.

BeeCloud: page `/1/rest/bills` and `/1/rest/refunds` for the period (creation time, per channel
family, skip paging by 50) and compare both ways with the ledger's orders created in the period;
an order seen on one side only is looked up on the other side by its number before anything is
concluded, so clock skew at the period's edges never reads as a mismatch.
BeilyPay: re-query every payout and collection that is not final (pending or unknown).

A fix is only ever the normal pending -> final transition (the same conditional write the
webhook or the poller would do, and the same event), and it carries the provider's record as
`reconciled_by` in that write. Anything else is reported, never changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from aws_lambda_powertools import Logger

from paygate.bus import EventPublisher, PublishError
from paygate.clock import iso_from_ms, now_ms
from paygate.credentials import BeeCloudCredentials, BeilyPayCredentials
from paygate.errors import ConflictError, ProviderError
from paygate.events import (
    RECONCILIATION_MISMATCH,
    DomainEvent,
    Mismatch,
    MismatchKind,
    bill_succeeded,
    reconciliation_mismatch,
    refund_finished,
    transfer_detail_type,
)
from paygate.history import NO_HISTORY, OrderHistory, status_changed
from paygate.models import App, Bill, BillStatus, OrderKind, Payout, ProviderState, Refund, RefundStatus, TransferStatus
from paygate.payments.refunds import RefundService
from paygate.providers.beecloud import (
    BILLS_PATH,
    MAX_QUERY_LIMIT,
    REFUNDS_PATH,
    BeeCloudBill,
    BeeCloudClient,
    BeeCloudRefund,
)
from paygate.providers.beilypay import BeilyPayClient, CollectionStatus, PayoutStatus
from paygate.reconciliation.report import Fix, Report, RunError
from paygate.store.orders import TransitionRejectedError
from paygate.store.transfers import Transfer, TransfersStore, transfer_from
from paygate.transfers.ledger import SettlementConflictError, TransferLedger

# A child of the function's Logger: JSON, its service, correlation id and keys, its level.
logger = Logger(child=True)

# A final BeilyPay status -> whether the order succeeded (absent: not final yet).
_PAYOUT_SUCCEEDED: dict[int, bool] = {PayoutStatus.SUCCEEDED: True, PayoutStatus.FAILED: False}
_COLLECTION_PAID: dict[int, bool] = {
    CollectionStatus.PAID: True,
    CollectionStatus.FAILED: False,
    CollectionStatus.CREATE_FAILED: False,
}
FAMILIES = ("WX", "ALI", "UN")  # v1 first made `channel` required on queries; families cover all channels
MAX_PAGES = 2000  # per family and period: 100 000 records; beyond that, ask for a shorter period
# A pending refund younger than this may still be on its way to BeeCloud: "BeeCloud has no such
# refund" proves nothing yet.
IN_FLIGHT_GRACE_MS = 10 * 60 * 1000
_LEDGER_PAGE = 100

_R = TypeVar("_R")
_M = TypeVar("_M", Bill, Refund)


@dataclass(frozen=True)
class Period:
    """Creation-time window, epoch milliseconds, both ends inclusive (BeeCloud's and the ledger's rule)."""

    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if self.start_ms < 0 or self.end_ms < self.start_ms:
            raise ValueError("the period must start before it ends")


@dataclass(frozen=True)
class AppAccounts:
    """An app and its provider credentials (None: no account with that provider)."""

    app: App
    beecloud: BeeCloudCredentials | None
    beilypay: BeilyPayCredentials | None


class TooManyRecordsError(Exception):
    """A provider listing did not end within MAX_PAGES pages."""


def _bill_state(record: BeeCloudBill) -> str:
    return "paid" if record.spay_result else "unpaid"


def _refund_state(record: BeeCloudRefund | None) -> str:
    if record is None:
        return "missing"
    if not record.finish:
        return "processing"
    return "succeeded" if record.result else "failed"


class Reconciler:
    """One run over a set of apps and a period; returns the Report."""

    def __init__(
        self,
        orders: TransfersStore,
        refunds: RefundService,
        transfers: TransferLedger,
        publisher: EventPublisher,
        beecloud: BeeCloudClient,
        beilypay: BeilyPayClient,
        *,
        history: OrderHistory = NO_HISTORY,
        clock: Callable[[], int] = now_ms,
        page_size: int = MAX_QUERY_LIMIT,
    ) -> None:
        self._orders = orders
        self._refunds = refunds
        self._transfers = transfers
        self._publisher = publisher
        self._beecloud = beecloud
        self._beilypay = beilypay
        self._history = history
        self._clock = clock
        self._page_size = page_size

    def run(self, accounts: Iterable[AppAccounts], period: Period, *, run_id: str | None = None) -> Report:
        report = Report(
            run_id=run_id or f"rec_{uuid.uuid4().hex[:16]}",
            period_from_ms=period.start_ms,
            period_to_ms=period.end_ms,
            started_at_ms=self._clock(),
        )
        for account in accounts:
            report.apps.append(account.app.app_id)
            before = len(report.mismatches)
            app = _App(self, account.app, report)
            try:
                if account.beecloud is not None:
                    app.beecloud(account.beecloud, period)
                if account.beilypay is not None:
                    app.beilypay(account.beilypay, period)
            except Exception as error:  # one app's failure (throttling, a bug) must not stop the others
                logger.exception("reconciliation of an app failed", extra={"app_id": account.app.app_id})
                report.errors.append(RunError(account.app.app_id, "-", "run", repr(error)))
            try:
                self._publish_mismatches(report, report.mismatches[before:])
            except PublishError as error:
                report.errors.append(RunError(account.app.app_id, "-", "mismatch events", str(error)))
        report.finished_at_ms = self._clock()
        logger.info("reconciliation finished", extra={"reconciliation": report.summary()})
        return report

    def _publish_mismatches(self, report: Report, mismatches: list[Mismatch]) -> None:
        events = [
            reconciliation_mismatch(
                m.app_id,
                m.key,
                report.started_at_ms,
                {
                    "run_id": report.run_id,
                    "period": {"from": iso_from_ms(report.period_from_ms), "to": iso_from_ms(report.period_to_ms)},
                    **m.to_json(),
                },
            )
            for m in mismatches
        ]
        if events:
            self._publisher.publish(*events)
            logger.warning(
                "reconciliation mismatches", extra={"count": len(events), "detail_type": RECONCILIATION_MISMATCH}
            )


class _App:
    """The comparisons for one app; collects into the run's report."""

    def __init__(self, run: Reconciler, app: App, report: Report) -> None:
        self._run = run
        self._app = app
        self._report = report

    # ------------------------------------------------------------------ BeeCloud
    def beecloud(self, creds: BeeCloudCredentials, period: Period) -> None:
        try:
            bills = self._page(
                lambda family, skip: self._run._beecloud.query_bills(
                    creds,
                    channel=family,
                    start_time_ms=period.start_ms,
                    end_time_ms=period.end_ms,
                    skip=skip,
                    limit=self._run._page_size,
                )
            )
        except (ProviderError, TooManyRecordsError) as error:
            self._error("beecloud", "bills", error)
        else:
            self._bills(creds, {b.bill_no: b for b in bills}, period)
        try:
            refunds = self._page(
                lambda family, skip: self._run._beecloud.query_refunds(
                    creds,
                    channel=family,
                    start_time_ms=period.start_ms,
                    end_time_ms=period.end_ms,
                    skip=skip,
                    limit=self._run._page_size,
                )
            )
        except (ProviderError, TooManyRecordsError) as error:
            self._error("beecloud", "refunds", error)
        else:
            self._refunds(creds, {r.refund_no: r for r in refunds}, period)

    def _page(self, query: Callable[[str, int], list[_R]]) -> list[_R]:
        """Every record of the period, family by family, `skip` paging until a short page."""
        records: list[_R] = []
        for family in FAMILIES:
            for page in range(MAX_PAGES):
                batch = query(family, page * self._run._page_size)
                records.extend(batch)
                if len(batch) < self._run._page_size:
                    break
            else:
                raise TooManyRecordsError(f"more than {MAX_PAGES} pages of {family}; reconcile a shorter period")
        return records

    def _bills(self, creds: BeeCloudCredentials, provider: dict[str, BeeCloudBill], period: Period) -> None:
        ledger = {b.bill_no: b for b in self._ledger(OrderKind.BILL, period, Bill)}
        self._report.count("bills.provider", len(provider))
        self._report.count("bills.ledger", len(ledger))
        for bill_no, record in provider.items():
            bill = ledger.pop(bill_no, None) or self._run._orders.get_bill(self._app.app_id, bill_no)
            self._bill(bill, record, bill_no)
        for bill in ledger.values():  # in the ledger's period, not in BeeCloud's listing: ask by number
            if bill.status is BillStatus.FAILED:
                continue  # BeeCloud refused to create it: its absence is the expected answer
            try:
                found = self._run._beecloud.query_bills(
                    creds, channel=bill.channel.family, bill_no=bill.bill_no, limit=self._run._page_size
                )
            except ProviderError as error:
                self._error("beecloud", f"bill {bill.bill_no}", error)
                continue
            match = next((r for r in found if r.bill_no == bill.bill_no), None)
            if match is not None:
                self._bill(bill, match, bill.bill_no)
            elif bill.status is BillStatus.SUCCEEDED:
                self._mismatch(
                    "beecloud",
                    "bill",
                    bill.bill_no,
                    MismatchKind.LEDGER_PAID_PROVIDER_NOT,
                    bill.status.value,
                    "missing",
                    bill.total_fee,
                    None,
                    "the ledger has the bill paid; BeeCloud has no such bill",
                )

    def _bill(self, bill: Bill | None, record: BeeCloudBill, bill_no: str) -> None:
        state = _bill_state(record)
        evidence_record = asdict(record)
        if bill is None:
            self._mismatch(
                "beecloud",
                "bill",
                bill_no,
                MismatchKind.MISSING_IN_LEDGER,
                None,
                state,
                None,
                record.total_fee,
                "BeeCloud has a bill the ledger has never recorded",
                evidence_record,
            )
            return
        if record.total_fee != bill.total_fee:
            self._mismatch(
                "beecloud",
                "bill",
                bill_no,
                MismatchKind.AMOUNT_DIFFERS,
                bill.status.value,
                state,
                bill.total_fee,
                record.total_fee,
                "total_fee differs",
                evidence_record,
            )
            return
        if record.channel.split("_", 1)[0] != bill.channel.family or (
            "_" in record.channel and record.channel != bill.channel.value
        ):
            self._mismatch(
                "beecloud",
                "bill",
                bill_no,
                MismatchKind.DETAILS_DIFFER,
                bill.status.value,
                state,
                bill.total_fee,
                record.total_fee,
                f"channel {record.channel} at BeeCloud, {bill.channel.value} in the ledger",
                evidence_record,
            )
            return
        if record.spay_result and bill.status is BillStatus.PENDING:
            self._mark_paid(bill, record)
        elif record.spay_result and bill.status is BillStatus.FAILED:
            self._mismatch(
                "beecloud",
                "bill",
                bill_no,
                MismatchKind.PROVIDER_PAID_LEDGER_FAILED,
                bill.status.value,
                state,
                bill.total_fee,
                record.total_fee,
                "BeeCloud has the bill paid; the ledger has it failed",
                evidence_record,
            )
        elif record.spay_result and bill.status is BillStatus.SUCCEEDED and bill.reconciled_by is not None:
            # Settled by an earlier run: publish its event again (same id), in case that run's publish failed.
            self._publish(bill_succeeded(bill), bill_no)
        elif not record.spay_result and bill.status is BillStatus.SUCCEEDED:
            self._mismatch(
                "beecloud",
                "bill",
                bill_no,
                MismatchKind.LEDGER_PAID_PROVIDER_NOT,
                bill.status.value,
                state,
                bill.total_fee,
                record.total_fee,
                "the ledger has the bill paid; BeeCloud says it is not",
                evidence_record,
            )

    def _mark_paid(self, bill: Bill, record: BeeCloudBill) -> None:
        """pending -> succeeded exactly as the PAY webhook does it, plus the evidence."""
        evidence = self._evidence(BILLS_PATH, asdict(record))
        try:
            paid = self._run._orders.mark_bill_paid(
                bill.app_id, bill.bill_no, total_fee=record.total_fee, now_ms=self._run._clock(), evidence=evidence
            )
        except TransitionRejectedError as rejected:
            current = Bill.model_validate(rejected.current) if rejected.current else bill
            if current.status is BillStatus.SUCCEEDED:  # the webhook got there first: nothing to fix
                self._publish(bill_succeeded(current), bill.bill_no)  # at-least-once, same event id
                return
            self._mismatch(
                "beecloud",
                "bill",
                bill.bill_no,
                MismatchKind.PROVIDER_PAID_LEDGER_FAILED,
                current.status.value,
                "paid",
                current.total_fee,
                record.total_fee,
                "the ledger refused the pending -> succeeded transition",
                asdict(record),
            )
            return
        self._run._history.record(
            paid.app_id, OrderKind.BILL, paid.bill_no, status_changed(paid.status), {"by": "reconciliation"}
        )
        self._fix("beecloud", "bill", bill.bill_no, "pending", "succeeded", "bill.succeeded", evidence)
        self._publish(bill_succeeded(paid), bill.bill_no)

    def _refunds(self, creds: BeeCloudCredentials, provider: dict[str, BeeCloudRefund], period: Period) -> None:
        ledger = {r.refund_no: r for r in self._ledger(OrderKind.REFUND, period, Refund)}
        self._report.count("refunds.provider", len(provider))
        self._report.count("refunds.ledger", len(ledger))
        for refund_no, record in provider.items():
            refund = ledger.pop(refund_no, None) or self._run._orders.get_refund(self._app.app_id, refund_no)
            self._refund(refund, record, refund_no)
        for refund in ledger.values():
            try:
                found = self._run._beecloud.query_refunds(
                    creds, channel=refund.channel.family, refund_no=refund.refund_no, limit=self._run._page_size
                )
            except ProviderError as error:
                self._error("beecloud", f"refund {refund.refund_no}", error)
                continue
            self._refund(refund, next((r for r in found if r.refund_no == refund.refund_no), None), refund.refund_no)

    def _refund(self, refund: Refund | None, record: BeeCloudRefund | None, refund_no: str) -> None:
        state = _refund_state(record)
        evidence_record = asdict(record) if record is not None else None
        if refund is None:
            assert record is not None
            self._mismatch(
                "beecloud",
                "refund",
                refund_no,
                MismatchKind.MISSING_IN_LEDGER,
                None,
                state,
                None,
                record.refund_fee,
                "BeeCloud has a refund the ledger has never recorded",
                evidence_record,
            )
            return
        if record is not None and record.refund_fee != refund.refund_fee:
            self._mismatch(
                "beecloud",
                "refund",
                refund_no,
                MismatchKind.AMOUNT_DIFFERS,
                refund.status.value,
                state,
                refund.refund_fee,
                record.refund_fee,
                "refund_fee differs",
                evidence_record,
            )
            return
        if record is not None and record.bill_no != refund.bill_no:
            self._mismatch(
                "beecloud",
                "refund",
                refund_no,
                MismatchKind.DETAILS_DIFFER,
                refund.status.value,
                state,
                refund.refund_fee,
                record.refund_fee,
                f"bill {record.bill_no} at BeeCloud, {refund.bill_no} in the ledger",
                evidence_record,
            )
            return
        if refund.status is RefundStatus.PENDING and state in ("succeeded", "failed"):
            assert record is not None
            self._settle_refund(refund, record, succeeded=state == "succeeded")
            return
        if refund.status is not RefundStatus.PENDING and refund.reconciled_by is not None and state == refund.status:
            self._publish(refund_finished(refund), refund_no)  # settled by an earlier run: its event again
            return
        if state == "missing" and refund.created_at_ms > self._run._clock() - IN_FLIGHT_GRACE_MS:
            return  # possibly still on its way to BeeCloud
        consistent = {
            RefundStatus.PENDING: {"processing"},
            RefundStatus.SUCCEEDED: {"succeeded"},
            RefundStatus.FAILED: {"failed", "missing"},  # a definite refusal leaves nothing at BeeCloud
        }[refund.status]
        if state not in consistent:
            self._mismatch(
                "beecloud",
                "refund",
                refund_no,
                MismatchKind.REFUND_STATE_DIFFERS,
                refund.status.value,
                state,
                refund.refund_fee,
                record.refund_fee if record else None,
                f"the ledger has the refund {refund.status.value}; BeeCloud: {state}",
                evidence_record,
            )

    def _settle_refund(self, refund: Refund, record: BeeCloudRefund, *, succeeded: bool) -> None:
        evidence = self._evidence(REFUNDS_PATH, asdict(record))
        try:
            settled = self._run._refunds.settle(
                refund,
                succeeded=succeeded,
                by="reconciliation",
                failure=None if succeeded else "refund_failed",
                evidence=evidence,
            )
        except PublishError as error:  # settled, but its event did not go out: the next run publishes it
            self._error("eventbridge", f"refund {refund.refund_no} event", error)
            current = self._run._orders.get_refund(refund.app_id, refund.refund_no)
            if current is None:
                return
            settled = current
        except ConflictError as conflict:
            self._mismatch(
                "beecloud",
                "refund",
                refund.refund_no,
                MismatchKind.REFUND_STATE_DIFFERS,
                refund.status.value,
                _refund_state(record),
                refund.refund_fee,
                record.refund_fee,
                conflict.message,
                asdict(record),
            )
            return
        if settled.reconciled_by is not None and settled.reconciled_by.get("run_id") == self._report.run_id:
            to = settled.status.value
            self._fix("beecloud", "refund", refund.refund_no, "pending", to, f"refund.{to}", evidence)

    # ------------------------------------------------------------------ BeilyPay
    def beilypay(self, creds: BeilyPayCredentials, period: Period) -> None:
        for kind in (OrderKind.PAYOUT, OrderKind.COLLECTION):
            for status in (TransferStatus.PENDING, TransferStatus.UNKNOWN):
                for item in self._all(kind, filters={"status": status.value}):
                    self._report.count(f"{kind.value}s.not_final")
                    self._transfer(kind, transfer_from(kind, item), creds)
            # The period's settled orders whose event is not known to have gone out (a publish that
            # failed after the write, here or in a notify): the ledger's own marker says which.
            for item in self._all(kind, created_from_ms=period.start_ms, created_to_ms=period.end_ms):
                transfer = transfer_from(kind, item)
                if transfer_detail_type(transfer) not in (None, transfer.published_event):
                    self._report.count(f"{kind.value}s.republished")
                    try:
                        self._run._transfers.ensure_reported(kind, transfer)
                    except PublishError as error:
                        self._error("eventbridge", f"{kind.value} {transfer.out_order_no} event", error)

    def _transfer(self, kind: OrderKind, transfer: Transfer, creds: BeilyPayCredentials) -> None:
        if transfer.provider_order_no is None:
            if transfer.status is TransferStatus.UNKNOWN:
                self._mismatch(
                    "beilypay",
                    kind.value,
                    transfer.out_order_no,
                    MismatchKind.UNVERIFIABLE,
                    transfer.status.value,
                    None,
                    transfer.amount,
                    None,
                    f"BeilyPay's order number was never received ({transfer.unknown_reason}); "
                    "check the BeilyPay console by out_order_no",
                )
            return  # still being created: its create call (or the poller) settles it
        if transfer.provider_state == ProviderState.CALLING.value:
            return
        order_no = transfer.provider_order_no
        try:
            if isinstance(transfer, Payout):
                p = self._run._beilypay.query_payout(creds, order_no=order_no)
                record: dict[str, Any] = asdict(p)
                finished = _PAYOUT_SUCCEEDED.get(p.status)
                out_order_no, amount, paid = p.out_order_no, p.amount, None
            else:
                c = self._run._beilypay.query_collection(creds, order_no=order_no)
                record = asdict(c)
                finished = _COLLECTION_PAID.get(c.status)
                out_order_no, amount = c.out_order_no, c.amount
                paid = (c.paid if c.paid is not None else c.amount) if finished else 0
        except ProviderError as error:
            self._error("beilypay", f"{kind.value} {transfer.out_order_no}", error)
            return
        state = {True: "succeeded", False: "failed", None: "pending"}[finished]
        if out_order_no != transfer.out_order_no:
            self._mismatch(
                "beilypay",
                kind.value,
                transfer.out_order_no,
                MismatchKind.DETAILS_DIFFER,
                transfer.status.value,
                state,
                transfer.amount,
                amount,
                f"BeilyPay's order {order_no} is for out_order_no {out_order_no}",
                record,
            )
            return
        if amount != transfer.amount:
            self._mismatch(
                "beilypay",
                kind.value,
                transfer.out_order_no,
                MismatchKind.AMOUNT_DIFFERS,
                transfer.status.value,
                state,
                transfer.amount,
                amount,
                "amount differs",
                record,
            )
            return
        if finished is None:
            return  # BeilyPay has not decided either: the poller keeps asking
        evidence = self._evidence(
            "/v2/trans/query" if kind is OrderKind.PAYOUT else "/v2/payment/query", record, provider="beilypay"
        )
        try:
            settled = self._run._transfers.settle(
                kind,
                transfer.app_id,
                transfer.out_order_no,
                succeeded=finished,
                provider_order_no=order_no,
                by="reconciliation",
                amount=amount if kind is OrderKind.PAYOUT else None,
                paid=paid if kind is OrderKind.COLLECTION else None,
                evidence=evidence,
            )
        except PublishError as error:  # settled; the next run's period scan publishes its event
            self._error("eventbridge", f"{kind.value} {transfer.out_order_no} event", error)
            return
        except SettlementConflictError as conflict:
            self._mismatch(
                "beilypay",
                kind.value,
                transfer.out_order_no,
                MismatchKind.TRANSFER_STATE_DIFFERS,
                transfer.status.value,
                state,
                transfer.amount,
                amount,
                conflict.reason,
                record,
            )
            return
        if settled.applied:
            self._fix(
                "beilypay",
                kind.value,
                transfer.out_order_no,
                transfer.status.value,
                settled.transfer.status.value,
                f"{kind.value}.{settled.transfer.status.value}",
                evidence,
            )

    # ------------------------------------------------------------------ plumbing
    def _ledger(self, kind: OrderKind, period: Period, model: type[_M]) -> Iterator[_M]:
        for item in self._all(kind, created_from_ms=period.start_ms, created_to_ms=period.end_ms):
            yield model.model_validate(item)

    def _all(
        self,
        kind: OrderKind,
        *,
        created_from_ms: int | None = None,
        created_to_ms: int | None = None,
        filters: dict[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            page = self._run._orders.list_orders(
                self._app.app_id,
                kind,
                limit=_LEDGER_PAGE,
                cursor=cursor,
                created_from_ms=created_from_ms,
                created_to_ms=created_to_ms,
                filters=filters,
            )
            yield from page.items
            if page.cursor is None:
                return
            cursor = page.cursor

    def _publish(self, event: DomainEvent, order_no: str) -> None:
        """Publish; a failure is a run error (the order is settled; the next overlapping run publishes again)."""
        try:
            self._run._publisher.publish(event)
        except PublishError as error:
            self._error("eventbridge", f"{event.detail_type} {order_no}", error)

    def _evidence(self, path: str, record: dict[str, Any], *, provider: str = "beecloud") -> dict[str, Any]:
        return {
            "source": f"{provider} {path}",
            "at": iso_from_ms(self._run._clock()),
            "run_id": self._report.run_id,
            "record": record,
        }

    def _fix(
        self, provider: str, kind: str, order_no: str, before: str, after: str, event: str, evidence: dict[str, Any]
    ) -> None:
        logger.info("reconciliation fixed an order", extra={"order_kind": kind, "order_no": order_no, "to": after})
        self._report.fixes.append(Fix(self._app.app_id, provider, kind, order_no, before, after, event, evidence))

    def _mismatch(
        self,
        provider: str,
        order_kind: str,
        order_no: str,
        kind: MismatchKind,
        ledger_status: str | None,
        provider_status: str | None,
        ledger_amount: int | None,
        provider_amount: int | None,
        detail: str,
        record: dict[str, Any] | None = None,
    ) -> None:
        self._report.mismatches.append(
            Mismatch(
                self._app.app_id,
                provider,
                order_kind,
                order_no,
                kind,
                ledger_status,
                provider_status,
                ledger_amount,
                provider_amount,
                detail,
                record,
            )
        )

    def _error(self, provider: str, scope: str, error: Exception) -> None:
        logger.error("reconciliation could not compare", extra={"provider": provider, "scope": scope})
        self._report.errors.append(RunError(self._app.app_id, provider, scope, str(error)))
