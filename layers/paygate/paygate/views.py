"""The public shape of each order: what an API answer shows, and what an event's `data` holds.

One definition for both, so a subscriber sees what a GET returns. Internal bookkeeping (request
hashes, leases, reservations) never leaves.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from paygate.clock import iso_from_ms
from paygate.models import (
    Bill,
    BillStatus,
    Channel,
    CheckoutSession,
    CheckoutStatus,
    Collection,
    Payout,
    Refund,
    RefundStatus,
    TransferStatus,
)


class Failure(BaseModel):
    code: str
    message: str


class BillView(BaseModel):
    object: Literal["bill"] = "bill"
    bill_no: str
    channel: Channel
    total_fee: int
    currency: str
    title: str
    optional: dict[str, Any] | None = None
    status: BillStatus
    payment: dict[str, Any] | None = Field(
        default=None,
        description="The channel's payment parameters from BeeCloud (code_url, html/url, tn, ...)",
    )
    refunded_fee: int
    failure: Failure | None = None
    created_at: str
    updated_at: str
    paid_at: str | None = None


class RefundView(BaseModel):
    object: Literal["refund"] = "refund"
    refund_no: str
    bill_no: str
    channel: Channel
    refund_fee: int
    currency: str
    optional: dict[str, Any] | None = None
    status: RefundStatus
    approval_url: str | None = Field(default=None, description="Alipay: page where the merchant confirms the refund")
    failure: Failure | None = None
    created_at: str
    updated_at: str
    finished_at: str | None = None


class PayoutView(BaseModel):
    object: Literal["payout"] = "payout"
    out_order_no: str
    amount: int
    currency: str
    account_type: str
    account_last4: str = Field(description="Last 4 digits of the beneficiary account (the rest is not stored)")
    account_owner: str
    bank_code: str
    ifsc: str
    status: TransferStatus = Field(
        description="pending, succeeded, failed, or unknown (BeilyPay's outcome could not be established: "
        "never re-issue it under a new out_order_no before reconciling)"
    )
    provider_order_no: str | None = Field(default=None, description="BeilyPay's orderNo")
    failure: Failure | None = None
    unknown_reason: str | None = None
    created_at: str
    updated_at: str
    finished_at: str | None = None


class CollectionView(BaseModel):
    object: Literal["collection"] = "collection"
    out_order_no: str
    amount: int
    currency: str
    paid: int | None = Field(default=None, description="What the payer actually paid (paise); may differ from amount")
    user_id: str
    user_name: str
    return_url: str
    pay_url: str | None = Field(default=None, description="Send the payer here")
    status: TransferStatus
    provider_order_no: str | None = Field(default=None, description="BeilyPay's orderNo")
    failure: Failure | None = None
    unknown_reason: str | None = None
    created_at: str
    updated_at: str
    finished_at: str | None = None


class BalanceView(BaseModel):
    object: Literal["balance"] = "balance"
    currency: Literal["INR"] = "INR"
    available: str = Field(description="BeilyPay's settlementAmount in INR, exactly as reported (e.g. '1234.56')")
    available_paise: int | None = Field(
        default=None, description="The same in paise, when it is a whole number of paise"
    )


def _failure(code: str | None, message: str | None) -> Failure | None:
    return Failure(code=code, message=message or "") if code else None


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
        failure=_failure(bill.failure_code, bill.failure_message),
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
        failure=_failure(refund.failure_code, refund.failure_message),
        created_at=iso_from_ms(refund.created_at_ms),
        updated_at=iso_from_ms(refund.updated_at_ms),
        finished_at=iso_from_ms(refund.finished_at_ms) if refund.finished_at_ms else None,
    )


def payout_view(payout: Payout) -> PayoutView:
    return PayoutView(
        out_order_no=payout.out_order_no,
        amount=payout.amount,
        currency=payout.currency,
        account_type=payout.account_type,
        account_last4=payout.account_last4,
        account_owner=payout.account_owner,
        bank_code=payout.bank_code,
        ifsc=payout.ifsc,
        status=payout.status,
        provider_order_no=payout.provider_order_no,
        failure=_failure(payout.failure_code, payout.failure_message),
        unknown_reason=payout.unknown_reason,
        created_at=iso_from_ms(payout.created_at_ms),
        updated_at=iso_from_ms(payout.updated_at_ms),
        finished_at=iso_from_ms(payout.finished_at_ms) if payout.finished_at_ms else None,
    )


def collection_view(collection: Collection) -> CollectionView:
    return CollectionView(
        out_order_no=collection.out_order_no,
        amount=collection.amount,
        currency=collection.currency,
        paid=collection.paid,
        user_id=collection.user_id,
        user_name=collection.user_name,
        return_url=collection.return_url,
        pay_url=collection.pay_url,
        status=collection.status,
        provider_order_no=collection.provider_order_no,
        failure=_failure(collection.failure_code, collection.failure_message),
        unknown_reason=collection.unknown_reason,
        created_at=iso_from_ms(collection.created_at_ms),
        updated_at=iso_from_ms(collection.updated_at_ms),
        finished_at=iso_from_ms(collection.finished_at_ms) if collection.finished_at_ms else None,
    )


def balance_view(settlement_amount: Decimal) -> BalanceView:
    """The INR decimal as BeilyPay sent it (never through a float), plus paise when exact."""
    paise = settlement_amount * 100
    return BalanceView(
        available=format(settlement_amount, "f"),
        available_paise=int(paise) if paise == paise.to_integral_value() else None,
    )


class CheckoutSessionView(BaseModel):
    object: Literal["checkout.session"] = "checkout.session"
    id: str
    url: str | None = Field(description="The payment page, while the session is open")
    status: CheckoutStatus
    total_fee: int
    currency: str
    title: str
    channels: list[str]
    return_url: str
    bill_no_prefix: str | None = None
    metadata: dict[str, Any] | None = None
    bill_no: str | None = Field(default=None, description="The bill that paid the session")
    created_at: str
    expires_at: str
    completed_at: str | None = None


def checkout_session_view(session: CheckoutSession) -> CheckoutSessionView:
    return CheckoutSessionView(
        id=session.session_id,
        url=session.url if session.status is CheckoutStatus.OPEN else None,
        status=session.status,
        total_fee=session.total_fee,
        currency=session.currency,
        title=session.title,
        channels=session.channels,
        return_url=session.return_url,
        bill_no_prefix=session.bill_no_prefix,
        metadata=session.metadata,
        bill_no=session.paid_bill_no,
        created_at=iso_from_ms(session.created_at_ms),
        expires_at=iso_from_ms(session.expires_at_ms),
        completed_at=iso_from_ms(session.completed_at_ms) if session.completed_at_ms else None,
    )
