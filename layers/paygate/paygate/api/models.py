"""Merchant API request and response models: the public contract, validated before any provider call."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from paygate.api.strict_json import MAX_FREE_FORM_DEPTH, check_free_form
from paygate.api.text import HumanText
from paygate.clock import china_date
from paygate.models import BillStatus, Channel, RefundStatus

# BeeCloud's total_fee / refund_fee are Java Integers (fen): positive and within int32.
MAX_FEE = 2_147_483_647
MAX_OPTIONAL_BYTES = 2048
MAX_URL_LENGTH = 1024

BillNo = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{8,32}$")]
RefundNo = Annotated[str, StringConstraints(pattern=r"^[0-9]{8}[0-9A-Za-z]{3,24}$")]
Fee = Annotated[StrictInt, Field(gt=0, le=MAX_FEE)]
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)

CHANNELS_NEEDING_RETURN_URL = {Channel.ALI_WEB, Channel.ALI_QRCODE, Channel.UN_WEB}


def _fingerprint(model: BaseModel) -> str:
    """Same body, same hash: how a repeated order number is told from a conflicting one."""
    canonical = json.dumps(model.model_dump(mode="json", exclude_none=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_optional(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    check_free_form(value, "optional")  # depth first: the size check below serialises it
    if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_OPTIONAL_BYTES:
        raise ValueError(f"optional must serialise to at most {MAX_OPTIONAL_BYTES} bytes")
    return value


def _check_url(value: str | None) -> str | None:
    if value is not None and (len(value) > MAX_URL_LENGTH or not _URL.match(value)):
        raise ValueError("must be an http(s) URL")
    return value


class CreateBillRequest(BaseModel):
    """POST /bills. Mirrors BeeCloud's rules so a bad bill never reaches the provider."""

    model_config = ConfigDict(extra="forbid")

    bill_no: BillNo = Field(description="Merchant order number: 8-32 letters/digits, unique per app")
    channel: Channel
    total_fee: Fee = Field(description="Amount in fen (CNY minor units), positive integer")
    title: Annotated[str, HumanText] = Field(min_length=1, description="At most 32 GBK bytes (16 Chinese characters)")
    optional: dict[str, Any] | None = Field(
        default=None,
        description=f"Echoed back in events; at most {MAX_OPTIONAL_BYTES} bytes as JSON, nested at most "
        f"{MAX_FREE_FORM_DEPTH} levels",
    )
    return_url: str | None = Field(default=None, description="Required for ALI_WEB, ALI_QRCODE, UN_WEB")
    openid: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None, description="Required for WX_JSAPI"
    )
    show_url: str | None = Field(default=None, description="ALI_WEB only")
    qr_pay_mode: Literal["0", "1", "3"] | None = Field(default=None, description="ALI_QRCODE only")

    @field_validator("title")
    @classmethod
    def _title_fits_gbk_32(cls, value: str) -> str:
        try:
            size = len(value.encode("gbk"))
        except UnicodeEncodeError as error:
            raise ValueError("title must use characters BeeCloud accepts (GBK)") from error
        if size > 32:
            raise ValueError("title must be at most 32 bytes in GBK (16 Chinese characters)")
        return value

    _optional = field_validator("optional")(_check_optional)
    _urls = field_validator("return_url", "show_url")(_check_url)

    @model_validator(mode="after")
    def _channel_rules(self) -> Self:
        if self.channel in CHANNELS_NEEDING_RETURN_URL and not self.return_url:
            raise ValueError(f"return_url is required for {self.channel.value}")
        if self.channel is Channel.WX_JSAPI and not self.openid:
            raise ValueError("openid is required for WX_JSAPI")
        if self.show_url is not None and self.channel is not Channel.ALI_WEB:
            raise ValueError("show_url applies to ALI_WEB only")
        if self.qr_pay_mode is not None and self.channel is not Channel.ALI_QRCODE:
            raise ValueError("qr_pay_mode applies to ALI_QRCODE only")
        if self.openid is not None and self.channel is not Channel.WX_JSAPI:
            raise ValueError("openid applies to WX_JSAPI only")
        return self

    def fingerprint(self) -> str:
        return _fingerprint(self)


class CreateRefundRequest(BaseModel):
    """POST /refunds. refund_no is BeeCloud's format: today's date (UTC+8) + 3-24 letters/digits."""

    model_config = ConfigDict(extra="forbid")

    refund_no: RefundNo = Field(description="yyyyMMdd (today, China time) + 3-24 letters/digits, not '000'")
    bill_no: BillNo
    refund_fee: Fee = Field(description="Amount in fen; at most what is left to refund on the bill")
    optional: dict[str, Any] | None = Field(
        default=None,
        description=f"Echoed back in events; at most {MAX_OPTIONAL_BYTES} bytes as JSON, nested at most "
        f"{MAX_FREE_FORM_DEPTH} levels",
    )

    _optional = field_validator("optional")(_check_optional)

    @field_validator("refund_no")
    @classmethod
    def _serial_not_000(cls, value: str) -> str:
        if value[8:] == "000":
            raise ValueError("the refund_no serial must not be '000'")
        return value

    def check_date(self, now_ms: int) -> None:
        """Checked at request time, not parse time: 'today' moves."""
        if self.refund_no[:8] != china_date(now_ms):
            raise ValueError(f"refund_no must start with today's date in China time ({china_date(now_ms)})")

    def fingerprint(self) -> str:
        return _fingerprint(self)


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


class BillList(BaseModel):
    object: Literal["list"] = "list"
    data: list[BillView]
    next_cursor: str | None


class RefundList(BaseModel):
    object: Literal["list"] = "list"
    data: list[RefundView]
    next_cursor: str | None


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail
