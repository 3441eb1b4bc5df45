"""What a merchant asks of checkout: a session, validated in full before anything is recorded."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, field_validator

from paygate.payments.requests import Fee
from paygate.providers import limits
from paygate.strict_json import check_free_form
from paygate.validation import HumanText, fingerprint

# The channels a browser can pay on without an app of the merchant's: QR codes for a desktop,
# the providers' web cashiers (a form the page submits), and Alipay's mobile cashier on a phone.
CheckoutChannel = Literal["WX_NATIVE", "ALI_QRCODE", "ALI_WEB", "UN_WEB", "ALI_WAP"]
CHECKOUT_CHANNELS: tuple[str, ...] = ("WX_NATIVE", "ALI_QRCODE", "ALI_WEB", "UN_WEB", "ALI_WAP")

DEFAULT_EXPIRY_S = 30 * 60
MIN_EXPIRY_S = 5 * 60
MAX_EXPIRY_S = 24 * 60 * 60
# A session's bills are numbered <prefix><session serial><channel digit>: the prefix leaves room
# for the 22 characters the session needs within BeeCloud's 32.
MAX_PREFIX_LENGTH = 10

BillNoPrefix = Annotated[str, StringConstraints(pattern=f"^[0-9A-Za-z]{{1,{MAX_PREFIX_LENGTH}}}$")]


class CreateCheckoutSessionRequest(BaseModel):
    """POST /checkout/sessions."""

    model_config = ConfigDict(extra="forbid")

    total_fee: Fee = Field(description="Amount in fen (CNY minor units), positive integer")
    title: Annotated[str, HumanText] = Field(
        min_length=1, description="Shown on the page and sent to the provider: at most 32 GBK bytes"
    )
    channels: list[CheckoutChannel] = Field(
        min_length=1, max_length=len(CHECKOUT_CHANNELS), description="The channels the page offers, in this order"
    )
    return_url: str = Field(
        description="Where the payer goes once the session is paid, with session_id, timestamp and signature "
        "added to the query (docs/checkout.md, 'The return signature')"
    )
    bill_no_prefix: BillNoPrefix | None = Field(
        default=None, description=f"1-{MAX_PREFIX_LENGTH} letters/digits starting the numbers of the session's bills"
    )
    metadata: dict[str, Any] | None = Field(
        default=None, description=f"Yours, echoed back; at most {limits.MAX_OPTIONAL_BYTES} bytes as JSON"
    )
    expires_in: StrictInt = Field(
        default=DEFAULT_EXPIRY_S,
        ge=MIN_EXPIRY_S,
        le=MAX_EXPIRY_S,
        description="Seconds until the session expires (default 30 minutes, at most 24 hours)",
    )

    @field_validator("title")
    @classmethod
    def _title_fits_gbk_32(cls, value: str) -> str:
        return limits.check_title(value)

    @field_validator("channels")
    @classmethod
    def _channels_once_each(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each channel at most once")
        return value

    @field_validator("return_url")
    @classmethod
    def _return_url(cls, value: str) -> str:
        return limits.check_url(value)

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        check_free_form(value, "metadata")
        limits.check_optional(value)  # the same size and JSON rules as a bill's optional
        return value

    def fingerprint(self) -> str:
        return fingerprint(self, exclude_none=True)
