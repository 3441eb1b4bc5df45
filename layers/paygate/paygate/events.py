"""The event catalogue: one final state of one order -> one event, in a versioned envelope with a deterministic id."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from paygate.clock import iso_from_ms
from paygate.models import (
    Bill,
    CheckoutSession,
    CheckoutStatus,
    Collection,
    OrderKind,
    Payout,
    Refund,
    RefundStatus,
    TransferStatus,
)
from paygate.views import bill_view, checkout_session_view, collection_view, payout_view, refund_view

ENVELOPE_VERSION = "1"
# Fixed namespace: the same order reaching the same final state always gets the same event id.
_EVENT_NAMESPACE = uuid.UUID("5b1f2c9e-8d43-4a51-9a0b-6f0e6c1d2a77")

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
CHECKOUT_COMPLETED = "checkout.session.completed"
CHECKOUT_EXPIRED = "checkout.session.expired"
CHECKOUT_EXTRA_PAYMENT = "checkout.session.extra_payment"


@dataclass(frozen=True)
class DomainEvent:
    detail_type: str  # e.g. bill.succeeded
    app_id: str
    order_key: str  # e.g. bill:<bill_no>
    occurred_at_ms: int
    data: dict[str, Any]
    # The order it is about, whose history records its publication (None: a checkout session's).
    subject: tuple[OrderKind, str] | None = None

    @property
    def event_id(self) -> str:
        """Subscribers drop duplicates by this id: at-least-once delivery, exactly-once meaning."""
        return str(uuid.uuid5(_EVENT_NAMESPACE, f"{self.app_id}:{self.order_key}:{self.detail_type}"))

    def detail(self) -> dict[str, Any]:
        return {
            "version": ENVELOPE_VERSION,
            "event_id": self.event_id,
            "type": self.detail_type,
            "app_id": self.app_id,
            "occurred_at": iso_from_ms(self.occurred_at_ms),
            "data": self.data,
        }


def bill_succeeded(bill: Bill) -> DomainEvent:
    data = bill_view(bill).model_dump(mode="json", exclude={"payment"})
    return DomainEvent(
        BILL_SUCCEEDED,
        bill.app_id,
        f"bill:{bill.bill_no}",
        bill.paid_at_ms or bill.updated_at_ms,
        data,
        (OrderKind.BILL, bill.bill_no),
    )


def bill_failed(bill: Bill) -> DomainEvent:
    """BeeCloud refused to create the bill: nothing can be paid on it."""
    data = bill_view(bill).model_dump(mode="json", exclude={"payment"})
    return DomainEvent(
        BILL_FAILED, bill.app_id, f"bill:{bill.bill_no}", bill.updated_at_ms, data, (OrderKind.BILL, bill.bill_no)
    )


def refund_finished(refund: Refund) -> DomainEvent:
    detail_type = REFUND_SUCCEEDED if refund.status is RefundStatus.SUCCEEDED else REFUND_FAILED
    data = refund_view(refund).model_dump(mode="json")
    return DomainEvent(
        detail_type,
        refund.app_id,
        f"refund:{refund.refund_no}",
        refund.finished_at_ms or refund.updated_at_ms,
        data,
        (OrderKind.REFUND, refund.refund_no),
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
        kind = OrderKind.PAYOUT
    else:
        data = collection_view(transfer).model_dump(mode="json", exclude={"pay_url"})
        kind = OrderKind.COLLECTION
    key = f"{kind.value}:{transfer.out_order_no}"
    if transfer.status is TransferStatus.UNKNOWN:
        occurred = transfer.unknown_at_ms or transfer.updated_at_ms
    else:
        occurred = transfer.finished_at_ms or transfer.updated_at_ms
    return DomainEvent(detail_type, transfer.app_id, key, occurred, data, (kind, transfer.out_order_no))


def reconciliation_mismatch(app_id: str, mismatch_key: str, occurred_at_ms: int, data: dict[str, Any]) -> DomainEvent:
    """A difference between the ledger and a provider that reconciliation could not prove and fix.

    `mismatch_key` names the order, the kind and both sides' states, so the same unchanged
    mismatch found by two runs has one event id and a changed one gets a new id. The order's
    history records it when the ledger has the order (`data` names it, as Mismatch.to_json does).
    """
    subject = None
    if data.get("order_kind") in set(OrderKind) and data.get("kind") != MismatchKind.MISSING_IN_LEDGER:
        subject = (OrderKind(data["order_kind"]), str(data["order_no"]))
    return DomainEvent(RECONCILIATION_MISMATCH, app_id, f"reconciliation:{mismatch_key}", occurred_at_ms, data, subject)


class MismatchKind(StrEnum):
    """Why the ledger and a provider disagree in a way reconciliation may not fix on its own."""

    # The provider says paid/succeeded, but the ledger has the order failed (a final state).
    PROVIDER_PAID_LEDGER_FAILED = "provider_paid_ledger_failed"
    # Both sides know the order but not for the same amount (never fixed: money would move).
    AMOUNT_DIFFERS = "amount_differs"
    # Same order number, but another channel or another bill (a refund) at the provider.
    DETAILS_DIFFER = "details_differ"
    # The provider has an order the ledger has never recorded.
    MISSING_IN_LEDGER = "missing_in_ledger"
    # The ledger says succeeded; the provider says not paid or has no such order.
    LEDGER_PAID_PROVIDER_NOT = "ledger_paid_provider_not"
    # A refund's state at BeeCloud differs from the ledger's and is not a pending -> final step.
    REFUND_STATE_DIFFERS = "refund_state_differs"
    # BeilyPay's final answer conflicts with the ledger (other order number, or already final otherwise).
    TRANSFER_STATE_DIFFERS = "transfer_state_differs"
    # The ledger's order cannot be checked: BeilyPay's order number was never received.
    UNVERIFIABLE = "unverifiable"


@dataclass(frozen=True)
class Mismatch:
    """A difference reported (reconciliation.mismatch event, report row), never fixed automatically."""

    app_id: str
    provider: str
    order_kind: str
    order_no: str
    kind: MismatchKind
    ledger_status: str | None
    provider_status: str | None
    ledger_amount: int | None
    provider_amount: int | None
    detail: str
    provider_record: dict[str, Any] | None = None

    @property
    def key(self) -> str:
        """Stable per (order, kind, both states): repeated runs report one event id until something changes."""
        return (
            f"{self.order_kind}:{self.order_no}:{self.kind.value}:"
            f"{self.ledger_status or '-'}:{self.provider_status or '-'}"
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data


def checkout_session_event(session: CheckoutSession) -> DomainEvent | None:
    """completed or expired, once per session (None while it is open); the page URL is not in it."""
    if session.status is CheckoutStatus.COMPLETE:
        detail_type, at_ms = CHECKOUT_COMPLETED, session.completed_at_ms or session.expires_at_ms
    elif session.status is CheckoutStatus.EXPIRED:
        detail_type, at_ms = CHECKOUT_EXPIRED, session.expires_at_ms
    else:
        return None
    data = checkout_session_view(session).model_dump(mode="json", exclude={"url"})
    return DomainEvent(detail_type, session.app_id, f"checkout_session:{session.session_id}", at_ms, data)


def checkout_extra_payment(session: CheckoutSession, bill: Bill) -> DomainEvent:
    """A second bill of one session was paid too: the merchant refunds it (docs/checkout.md)."""
    data = {
        "session": checkout_session_view(session).model_dump(mode="json", exclude={"url"}),
        "bill": bill_view(bill).model_dump(mode="json", exclude={"payment"}),
    }
    return DomainEvent(
        CHECKOUT_EXTRA_PAYMENT,
        session.app_id,
        f"checkout_session:{session.session_id}:bill:{bill.bill_no}",
        bill.paid_at_ms or bill.updated_at_ms,
        data,
        (OrderKind.BILL, bill.bill_no),
    )
