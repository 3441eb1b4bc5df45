"""The event catalogue's constructors: one final state of one order -> one event (one id)."""

from __future__ import annotations

from typing import Any

from paygate.bus import DomainEvent
from paygate.models import Bill, Collection, Payout, Refund, RefundStatus, TransferStatus
from paygate.views import bill_view, collection_view, payout_view, refund_view

BILL_SUCCEEDED = "bill.succeeded"
BILL_FAILED = "bill.failed"
REFUND_SUCCEEDED = "refund.succeeded"
REFUND_FAILED = "refund.failed"
PAYOUT_SUCCEEDED = "payout.succeeded"
PAYOUT_FAILED = "payout.failed"
PAYOUT_UNKNOWN = "payout.unknown"
COLLECTION_SUCCEEDED = "collection.succeeded"
COLLECTION_FAILED = "collection.failed"
COLLECTION_UNKNOWN = "collection.unknown"
RECONCILIATION_MISMATCH = "reconciliation.mismatch"


def bill_succeeded(bill: Bill) -> DomainEvent:
    data = bill_view(bill).model_dump(mode="json", exclude={"payment"})
    return DomainEvent(BILL_SUCCEEDED, bill.app_id, f"bill:{bill.bill_no}", bill.paid_at_ms or bill.updated_at_ms, data)


def bill_failed(bill: Bill) -> DomainEvent:
    """BeeCloud refused to create the bill: nothing can be paid on it."""
    data = bill_view(bill).model_dump(mode="json", exclude={"payment"})
    return DomainEvent(BILL_FAILED, bill.app_id, f"bill:{bill.bill_no}", bill.updated_at_ms, data)


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


def transfer_detail_type(transfer: Payout | Collection) -> str | None:
    """The event a payout's or collection's current state stands for (None while pending)."""
    prefix = "payout" if isinstance(transfer, Payout) else "collection"
    if transfer.status is TransferStatus.PENDING:
        return None
    return f"{prefix}.{transfer.status.value}"


def transfer_event(transfer: Payout | Collection) -> DomainEvent:
    """payout.* / collection.* for a transfer in a reported state: succeeded, failed or unknown."""
    detail_type = transfer_detail_type(transfer)
    if detail_type is None:
        raise ValueError("a pending transfer has no event")
    if isinstance(transfer, Payout):
        data = payout_view(transfer).model_dump(mode="json")
        key = f"payout:{transfer.out_order_no}"
    else:
        data = collection_view(transfer).model_dump(mode="json", exclude={"pay_url"})
        key = f"collection:{transfer.out_order_no}"
    if transfer.status is TransferStatus.UNKNOWN:
        occurred = transfer.unknown_at_ms or transfer.updated_at_ms
    else:
        occurred = transfer.finished_at_ms or transfer.updated_at_ms
    return DomainEvent(detail_type, transfer.app_id, key, occurred, data)


def reconciliation_mismatch(app_id: str, mismatch_key: str, occurred_at_ms: int, data: dict[str, Any]) -> DomainEvent:
    """A difference between the ledger and a provider that reconciliation could not prove and fix.

    `mismatch_key` names the order, the kind and both sides' states, so the same unchanged
    mismatch found by two runs has one event id and a changed one gets a new id.
    """
    return DomainEvent(RECONCILIATION_MISMATCH, app_id, f"reconciliation:{mismatch_key}", occurred_at_ms, data)
