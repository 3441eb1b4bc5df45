"""In-memory bills and refunds with BeeCloud's v1 business rules (codes 7, 8, 9, 11, 12, 13).

Everything runs on the server's event loop; no method awaits, so each is atomic there.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sandbox.beecloud.config import BeeCloudAppConfig
from sandbox.beecloud.protocol import BeeCloudError, ResultCode, parent_channel
from sandbox.beecloud.validation import BillRequest, QueryRequest, RefundRequest

DUPLICATE_BILL_DETAIL = "订单号重复"
DUPLICATE_REFUND_DETAIL = "退款单号重复"


class RefundStatus(StrEnum):
    """The values ``refund/status`` reports (WeChat's names)."""

    PROCESSING = "PROCESSING"
    SUCCESS = "SUCCESS"
    FAIL = "FAIL"


@dataclass
class Bill:
    """One payment order of one app."""

    id: str
    seq: int
    app_id: str
    request: BillRequest
    created_ms: int
    paid_ms: int | None = None
    channel_trade_no: str | None = None
    refunds: list[Refund] = field(default_factory=list)

    @property
    def bill_no(self) -> str:
        return self.request.bill_no

    @property
    def channel(self) -> str:
        return self.request.channel

    @property
    def paid(self) -> bool:
        return self.paid_ms is not None

    def blocking_refund(self) -> Refund | None:
        """A refund in progress or already successful: v1 allows one successful refund per bill."""
        for refund in self.refunds:
            if refund.status is not RefundStatus.FAIL:
                return refund
        return None


@dataclass
class Refund:
    """One refund request against a paid bill."""

    id: str
    seq: int
    app_id: str
    refund_no: str
    bill: Bill
    refund_fee: int
    optional: dict[str, Any]
    created_ms: int
    status: RefundStatus = RefundStatus.PROCESSING
    finished_ms: int | None = None

    @property
    def finished(self) -> bool:
        return self.status is not RefundStatus.PROCESSING

    @property
    def succeeded(self) -> bool:
        return self.status is RefundStatus.SUCCESS


def _channel_matches(filter_channel: str | None, channel: str) -> bool:
    """A parent channel (WX/ALI/UN) matches every sub-channel."""
    return filter_channel is None or filter_channel in (channel, parent_channel(channel))


def _in_window(query: QueryRequest, created_ms: int) -> bool:
    if query.start_time is not None and created_ms < query.start_time:
        return False
    return query.end_time is None or created_ms <= query.end_time


class Store:
    """Apps, bills and refunds; keys are (app_id, bill_no) and (app_id, refund_no)."""

    def __init__(self, apps: list[BeeCloudAppConfig]) -> None:
        self.apps: dict[str, BeeCloudAppConfig] = {app.app_id: app for app in apps}
        self.bills: dict[tuple[str, str], Bill] = {}
        self.refunds: dict[tuple[str, str], Refund] = {}
        self._seq = itertools.count(1)

    def reset(self) -> None:
        """Forget every bill and refund; apps stay (they are console configuration, not state)."""
        self.bills.clear()
        self.refunds.clear()

    def register_app(self, app: BeeCloudAppConfig) -> bool:
        """Add or replace an app; True when it is new."""
        is_new = app.app_id not in self.apps
        self.apps[app.app_id] = app
        return is_new

    def create_bill(self, app_id: str, request: BillRequest, now_ms: int) -> Bill:
        """New bill, or the same unpaid bill again for an identical re-submission; else 7."""
        existing = self.bills.get((app_id, request.bill_no))
        if existing is not None:
            if existing.paid or not existing.request.same_order(request):
                raise BeeCloudError(ResultCode.CHANNEL_ERROR, DUPLICATE_BILL_DETAIL)
            return existing
        bill = Bill(id=str(uuid.uuid4()), seq=next(self._seq), app_id=app_id, request=request, created_ms=now_ms)
        self.bills[(app_id, request.bill_no)] = bill
        return bill

    def get_bill(self, app_id: str, bill_no: str) -> Bill | None:
        return self.bills.get((app_id, bill_no))

    def get_refund(self, app_id: str, refund_no: str) -> Refund | None:
        return self.refunds.get((app_id, refund_no))

    @staticmethod
    def mark_paid(bill: Bill, now_ms: int, channel_trade_no: str) -> bool:
        """Pay an unpaid bill; False (and no change) when it was paid already."""
        if bill.paid:
            return False
        bill.paid_ms = now_ms
        bill.channel_trade_no = channel_trade_no
        return True

    def create_refund(self, app_id: str, request: RefundRequest, now_ms: int) -> Refund:
        """Apply the v1 refund rules in the order: 5 duplicate, 8, 9, 11, 12."""
        if (app_id, request.refund_no) in self.refunds:
            raise BeeCloudError(ResultCode.PARAM_INVALID, DUPLICATE_REFUND_DETAIL)
        bill = self.bills.get((app_id, request.bill_no))
        if bill is None or (request.channel is not None and parent_channel(bill.channel) != request.channel):
            raise BeeCloudError(ResultCode.NO_SUCH_BILL, f"no bill {request.bill_no}")
        if not bill.paid:
            raise BeeCloudError(ResultCode.BILL_UNSUCCESS, f"bill {request.bill_no} is not paid")
        blocking = bill.blocking_refund()
        if blocking is not None:
            state = "succeeded" if blocking.succeeded else "is in progress"
            raise BeeCloudError(ResultCode.ALREADY_REFUNDING, f"refund {blocking.refund_no} of this bill {state}")
        if request.refund_fee > bill.request.total_fee:
            raise BeeCloudError(ResultCode.REFUND_AMOUNT_TOO_LARGE, "refund_fee exceeds the bill's total_fee")
        refund = Refund(
            id=str(uuid.uuid4()),
            seq=next(self._seq),
            app_id=app_id,
            refund_no=request.refund_no,
            bill=bill,
            refund_fee=request.refund_fee,
            optional=request.optional,
            created_ms=now_ms,
        )
        self.refunds[(app_id, request.refund_no)] = refund
        bill.refunds.append(refund)
        return refund

    @staticmethod
    def finish_refund(refund: Refund, success: bool, now_ms: int) -> bool:
        """Move a processing refund to SUCCESS or FAIL; False when it had finished already."""
        if refund.finished:
            return False
        refund.status = RefundStatus.SUCCESS if success else RefundStatus.FAIL
        refund.finished_ms = now_ms
        return True

    def query_bills(self, app_id: str, query: QueryRequest) -> list[Bill]:
        """Matching bills, newest first, after skip/limit."""
        matches = [
            bill
            for (owner, _), bill in self.bills.items()
            if owner == app_id
            and _channel_matches(query.channel, bill.channel)
            and (query.bill_no is None or bill.bill_no == query.bill_no)
            and (query.spay_result is None or bill.paid == query.spay_result)
            and _in_window(query, bill.created_ms)
        ]
        matches.sort(key=lambda bill: (bill.created_ms, bill.seq), reverse=True)
        return matches[query.skip : query.skip + query.limit]

    def query_refunds(self, app_id: str, query: QueryRequest) -> list[Refund]:
        """Matching refunds, newest first, after skip/limit."""
        matches = [
            refund
            for (owner, _), refund in self.refunds.items()
            if owner == app_id
            and _channel_matches(query.channel, refund.bill.channel)
            and (query.bill_no is None or refund.bill.bill_no == query.bill_no)
            and (query.refund_no is None or refund.refund_no == query.refund_no)
            and _in_window(query, refund.created_ms)
        ]
        matches.sort(key=lambda refund: (refund.created_ms, refund.seq), reverse=True)
        return matches[query.skip : query.skip + query.limit]
