"""Domain entity -> public view. Internal bookkeeping (hashes, leases, reservations) never leaves."""

from __future__ import annotations

from paygate.api.models import BillView, Failure, RefundView
from paygate.clock import iso_from_ms
from paygate.models import Bill, Refund


def bill_view(bill: Bill) -> BillView:
    return BillView(
        bill_no=bill.bill_no,
        channel=bill.channel,
        total_fee=bill.total_fee,
        currency=bill.currency,
        title=bill.title,
        optional=bill.optional,
        status=bill.status,
        payment=bill.payment_params,
        refunded_fee=bill.refunded_fee,
        failure=Failure(code=bill.failure_code, message=bill.failure_message or "") if bill.failure_code else None,
        created_at=iso_from_ms(bill.created_at_ms),
        updated_at=iso_from_ms(bill.updated_at_ms),
        paid_at=iso_from_ms(bill.paid_at_ms) if bill.paid_at_ms else None,
    )


def refund_view(refund: Refund) -> RefundView:
    return RefundView(
        refund_no=refund.refund_no,
        bill_no=refund.bill_no,
        channel=refund.channel,
        refund_fee=refund.refund_fee,
        currency=refund.currency,
        optional=refund.optional,
        status=refund.status,
        approval_url=refund.approval_url,
        failure=Failure(code=refund.failure_code, message=refund.failure_message or "")
        if refund.failure_code
        else None,
        created_at=iso_from_ms(refund.created_at_ms),
        updated_at=iso_from_ms(refund.updated_at_ms),
        finished_at=iso_from_ms(refund.finished_at_ms) if refund.finished_at_ms else None,
    )
