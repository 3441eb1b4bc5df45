"""Domain entities: what a bill, a refund and an app are, independent of HTTP and DynamoDB."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class Channel(StrEnum):
    WX_APP = "WX_APP"
    WX_NATIVE = "WX_NATIVE"
    WX_JSAPI = "WX_JSAPI"
    ALI_APP = "ALI_APP"
    ALI_WEB = "ALI_WEB"
    ALI_QRCODE = "ALI_QRCODE"
    UN_APP = "UN_APP"
    UN_WEB = "UN_WEB"

    @property
    def family(self) -> str:
        """BeeCloud's refund and webhook use the family (WX, ALI, UN), bills the sub-channel."""
        return self.value.split("_", 1)[0]


class OrderKind(StrEnum):
    BILL = "bill"
    REFUND = "refund"


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
