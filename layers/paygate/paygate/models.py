"""Domain entities: what a bill, a refund and an app are, independent of HTTP and DynamoDB."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from paygate.providers.limits import BILL_CHANNELS


class Channel(StrEnum):
    WX_APP = "WX_APP"
    WX_NATIVE = "WX_NATIVE"
    WX_JSAPI = "WX_JSAPI"
    ALI_APP = "ALI_APP"
    ALI_WEB = "ALI_WEB"
    ALI_WAP = "ALI_WAP"
    ALI_QRCODE = "ALI_QRCODE"
    UN_APP = "UN_APP"
    UN_WEB = "UN_WEB"

    @property
    def family(self) -> str:
        """BeeCloud's refund and webhook use the family (WX, ALI, UN), bills the sub-channel."""
        return self.value.split("_", 1)[0]


# The enum spells the channels out for type checkers; limits.BILL_CHANNELS is where they are
# defined, and a channel added to one only would make the API and the adapter disagree.
if {channel.value for channel in Channel} != BILL_CHANNELS:
    raise RuntimeError("paygate.models.Channel must list exactly limits.BILL_CHANNELS")


class OrderKind(StrEnum):
    BILL = "bill"
    REFUND = "refund"
    PAYOUT = "payout"
    COLLECTION = "collection"


class BillStatus(StrEnum):
    PENDING = "pending"  # recorded; the customer has not paid (or we do not know yet)
    SUCCEEDED = "succeeded"  # BeeCloud's signed PAY webhook matched the ledger
    FAILED = "failed"  # BeeCloud refused to create it; nothing can be paid


class RefundStatus(StrEnum):
    PENDING = "pending"  # accepted by paygate; BeeCloud's outcome not known yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"


CURRENCY_CNY = "CNY"


class Bill(BaseModel):
    """A payment request for one merchant order, unique per app by bill_no."""

    model_config = ConfigDict(frozen=True)

    app_id: str
    bill_no: str
    channel: Channel
    total_fee: int
    currency: str = CURRENCY_CNY
    title: str
    optional: dict[str, Any] | None = None
    return_url: str | None = None
    openid: str | None = None
    show_url: str | None = None
    qr_pay_mode: str | None = None
    use_app: bool | None = None
    status: BillStatus
    payment_params: dict[str, Any] | None = None
    refunded_fee: int = 0
    refund_reserved: int = 0
    active_refund: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    request_hash: str
    provider_state: str
    lease_until_ms: int = 0
    created_at_ms: int
    updated_at_ms: int
    paid_at_ms: int | None = None
    reconciled_by: dict[str, Any] | None = None  # the provider's evidence when reconciliation settled it


class Refund(BaseModel):
    """A refund of (part of) a paid bill, unique per app by refund_no."""

    model_config = ConfigDict(frozen=True)

    app_id: str
    refund_no: str
    bill_no: str
    channel: Channel
    refund_fee: int
    currency: str = CURRENCY_CNY
    optional: dict[str, Any] | None = None
    status: RefundStatus
    approval_url: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    request_hash: str
    created_at_ms: int
    updated_at_ms: int
    finished_at_ms: int | None = None
    reconciled_by: dict[str, Any] | None = None  # the provider's evidence when reconciliation settled it


class App(BaseModel):
    """A merchant application: one API key, its own provider accounts, its own orders."""

    model_config = ConfigDict(frozen=True)

    app_id: str
    name: str
    key_hash: str
    status: str = "active"
    beecloud_app_id: str | None = None
    beilypay_app_id: int | None = None
    beilypay_merchant_id: int | None = None
    created_at_ms: int
    # The API Gateway key that meters this app in the usage plan (not a secret: callers never
    # send it, the authorizer names it). None until the operator CLI registered one.
    usage_key: str | None = None


# ---------------------------------------------------------------- BeilyPay (India, INR in paise)
CURRENCY_INR = "INR"


class TransferStatus(StrEnum):
    """Payouts and collections share one life cycle.

    pending -> succeeded | failed (BeilyPay's notify or the poller's query), or -> unknown when
    BeilyPay's answer to the create was lost or the poller's deadline passed. `unknown` is not
    final: a late notify (or an operator's reconciliation) may still settle it.
    """

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"


class ProviderState(StrEnum):
    """Where the provider call for an order stands; guards against calling twice."""

    CALLING = "calling"  # a function holds the lease and is talking to the provider
    CREATED = "created"  # the provider accepted; its answer is stored
    REJECTED = "rejected"  # the provider refused; final
    UNKNOWN = "unknown"  # the call timed out or broke; a retry may take the lease again


class TransferOrder(BaseModel):
    """What every BeilyPay order shares: identity, amount, and its lifecycle bookkeeping."""

    model_config = ConfigDict(frozen=True)

    app_id: str
    out_order_no: str
    amount: int
    currency: str = CURRENCY_INR
    status: TransferStatus
    provider_state: str
    provider_order_no: str | None = None
    trans_time: str | None = None
    pay_time: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    unknown_reason: str | None = None
    published_event: str | None = None
    request_hash: str
    lease_until_ms: int = 0
    created_at_ms: int
    updated_at_ms: int
    finished_at_ms: int | None = None
    unknown_at_ms: int | None = None
    reconciled_by: dict[str, Any] | None = None


class Payout(TransferOrder):
    """Money paid out to an Indian bank account (代付), unique per app by out_order_no.

    Only what is needed after the create call is kept: the account number is stored masked,
    the beneficiary's address, e-mail and mobile are sent to BeilyPay once and not stored.
    """

    account_type: str
    account_last4: str
    account_owner: str
    bank_code: str
    ifsc: str


class Collection(TransferOrder):
    """Money collected from a payer through BeilyPay's pay page (代收), unique per app by out_order_no.

    `paid` is what the payer actually paid according to BeilyPay; it may differ from `amount`.
    """

    user_id: str
    user_name: str
    return_url: str
    pay_url: str | None = None
    paid: int | None = None


@dataclass(frozen=True)
class CallbackResult:
    """What a provider callback did to the ledger (logged and measured; the provider only sees its ack)."""

    outcome: str  # applied | duplicate | ignored
    kind: OrderKind | None = None  # the order it was for, when it names one that exists
    order_no: str | None = None


@dataclass(frozen=True)
class Created[O]:
    """What a create call did: the order as now stored, and what the API answers (200, 201 or 202)."""

    order: O
    created: bool  # False: an identical earlier request created it; the stored order is returned
    outcome_unknown: bool = False  # created, but the provider's answer was lost (a transfer left `unknown`)


# ---------------------------------------------------------------- checkout sessions
class CheckoutStatus(StrEnum):
    """open -> complete (a bill of it was paid) | expired (its time ran out unpaid)."""

    OPEN = "open"
    COMPLETE = "complete"
    EXPIRED = "expired"


class CheckoutSession(BaseModel):
    model_config = ConfigDict(frozen=True)

    app_id: str
    session_id: str
    url: str  # the payment page: a bearer capability for paying this session, nothing more
    total_fee: int
    currency: str = CURRENCY_CNY
    title: str
    channels: list[str]
    return_url: str
    bill_no_prefix: str | None = None
    metadata: dict[str, object] | None = None
    status: CheckoutStatus
    bills: dict[str, str] = {}  # channel -> bill_no, for the bills the payer started
    paid_bill_no: str | None = None
    request_hash: str
    created_at_ms: int
    expires_at_ms: int
    completed_at_ms: int | None = None
    # The completed/expired event went out (set after PutEvents succeeded; until then every
    # reader that finds the session final publishes it again, under the same event id).
    event_published: bool = False

    def bill_no_for(self, channel: str) -> str:
        """Stable per session and channel: choosing a channel twice asks for the same bill."""
        return f"{self.bill_no_prefix or ''}{self.session_id.removeprefix('cs_')[:20]}{self.channels.index(channel)}"

    def is_expired(self, now_ms: int) -> bool:
        return self.status is CheckoutStatus.EXPIRED or (
            self.status is CheckoutStatus.OPEN and now_ms >= self.expires_at_ms
        )
