"""What a caller asks of payments (a bill, a refund): validated in full before anything is recorded or sent."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from paygate.clock import china_date
from paygate.models import Channel
from paygate.providers import limits
from paygate.providers.limits import MAX_FEE, MAX_OPENID_LENGTH, MAX_OPTIONAL_BYTES
from paygate.strict_json import MAX_FREE_FORM_DEPTH, check_free_form
from paygate.validation import HumanText, fingerprint

# The field limits are BeeCloud's, from paygate.providers.limits: the adapter checks a request
# with the same functions, so whatever it would refuse is a 422 here.
BillNo = Annotated[str, StringConstraints(pattern=f"^{limits.BILL_NO}$"), AfterValidator(limits.check_bill_no)]
RefundNo = Annotated[str, StringConstraints(pattern=f"^{limits.REFUND_NO}$"), AfterValidator(limits.check_refund_no)]
Fee = Annotated[StrictInt, Field(gt=0, le=MAX_FEE), AfterValidator(limits.check_fee)]
OpenId = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_OPENID_LENGTH), AfterValidator(limits.check_openid)
]


def _check_optional(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Depth first (what DynamoDB can store), then the adapter's own rule (size, sendable JSON)."""
    if value is None:
        return None
    check_free_form(value, "optional")  # before serialising: a deep value must not recurse
    limits.check_optional(value)
    return value


def _only(field: str) -> str:
    """A channel-specific field's documentation, from the one table of which channel takes it."""
    return f"{', '.join(sorted(limits.CHANNEL_ONLY[field]))} only"


def _check_url(value: str | None) -> str | None:
    return None if value is None else limits.check_url(value)


class CreateBillRequest(BaseModel):
    """POST /bills. Mirrors BeeCloud's rules so a bad bill never reaches the provider."""

    model_config = ConfigDict(extra="forbid")

    bill_no: BillNo = Field(description="Merchant order number: 8-32 letters/digits, unique per app")
    channel: Channel
    total_fee: Fee = Field(description="Amount in fen (CNY minor units), positive integer")
    title: Annotated[str, HumanText] = Field(
        min_length=1, description="At most 32 GBK bytes (16 Chinese characters), not only whitespace"
    )
    optional: dict[str, Any] | None = Field(
        default=None,
        description=f"Echoed back in events; at most {MAX_OPTIONAL_BYTES} bytes as JSON, nested at most "
        f"{MAX_FREE_FORM_DEPTH} levels",
    )
    return_url: str | None = Field(
        default=None, description=f"Required for {', '.join(sorted(limits.RETURN_URL_REQUIRED))}"
    )
    openid: OpenId | None = Field(default=None, description="Required for WX_JSAPI; not only whitespace")
    show_url: str | None = Field(default=None, description=_only("show_url"))
    qr_pay_mode: Literal["0", "1", "3"] | None = Field(default=None, description=_only("qr_pay_mode"))
    use_app: StrictBool | None = Field(
        default=None,
        description=f"{_only('use_app')}: true opens the payer's Alipay app when the phone has it, "
        "false stays in the mobile browser",
    )

    @field_validator("title")
    @classmethod
    def _title_fits_gbk_32(cls, value: str) -> str:
        return limits.check_title(value)

    _optional = field_validator("optional")(_check_optional)
    _urls = field_validator("return_url", "show_url")(_check_url)

    @model_validator(mode="after")
    def _channel_rules(self) -> Self:
        limits.check_channel_extras(
            self.channel.value,
            return_url=self.return_url,
            openid=self.openid,
            show_url=self.show_url,
            qr_pay_mode=self.qr_pay_mode,
            use_app=self.use_app,
        )
        return self

    def fingerprint(self) -> str:
        return fingerprint(self, exclude_none=True)


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

    def check_date(self, now_ms: int) -> None:
        """Checked at request time, not parse time: 'today' moves."""
        if self.refund_no[:8] != china_date(now_ms):
            raise ValueError(f"refund_no must start with today's date in China time ({china_date(now_ms)})")

    def fingerprint(self) -> str:
        return fingerprint(self, exclude_none=True)
