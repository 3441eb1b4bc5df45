"""The event catalogue's constructors: one final state of one order -> one event (one id)."""

from __future__ import annotations

from paygate.api.views import bill_view, refund_view
from paygate.bus import DomainEvent
from paygate.models import Bill, Refund, RefundStatus

BILL_SUCCEEDED = "bill.succeeded"
BILL_FAILED = "bill.failed"
REFUND_SUCCEEDED = "refund.succeeded"
REFUND_FAILED = "refund.failed"


def bill_succeeded(bill: Bill) -> DomainEvent:
    data = bill_view(bill).model_dump(mode="json", exclude={"payment"})
    return DomainEvent(BILL_SUCCEEDED, bill.app_id, f"bill:{bill.bill_no}", bill.paid_at_ms or bill.updated_at_ms, data)


def refund_finished(refund: Refund) -> DomainEvent:
    detail_type = REFUND_SUCCEEDED if refund.status is RefundStatus.SUCCEEDED else REFUND_FAILED
    data = refund_view(refund).model_dump(mode="json")
    return DomainEvent(
        detail_type,
        refund.app_id,
        f"refund:{refund.refund_no}",
        refund.finished_at_ms or refund.updated_at_ms,
        data,
    )
