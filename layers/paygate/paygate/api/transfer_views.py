"""Payout / collection entity -> public view. Hashes, leases and bookkeeping never leave."""

from __future__ import annotations

from decimal import Decimal

from paygate.api.models import Failure
from paygate.api.transfer_models import BalanceView, CollectionView, PayoutView
from paygate.clock import iso_from_ms
from paygate.models import Collection, Payout


def _failure(code: str | None, message: str | None) -> Failure | None:
    return Failure(code=code, message=message or "") if code else None


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
