"""The merchant API's models, written by hand to read well, and checked against docs/openapi.json.

Responses ignore fields they do not know (a newer server never breaks an older client); requests
forbid unknown fields and carry the API's simple constraints, so most mistakes fail before a
request is sent. `OPENAPI_SCHEMAS` names each model's schema in the OpenAPI document; the
project's test suite fails when the two drift apart.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

MAX_AMOUNT = 2_147_483_647


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


class BillStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class TransferStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"  # BeilyPay's outcome could not be established: never re-issue the order


class CheckoutSessionStatus(StrEnum):
    """open -> complete (a bill of it was paid) | expired (its time ran out unpaid)."""

    OPEN = "open"
    COMPLETE = "complete"
    EXPIRED = "expired"


# The channels a hosted checkout page can offer (a browser pays on them without the merchant's app).
CheckoutChannel = Literal["WX_NATIVE", "ALI_QRCODE", "ALI_WEB", "UN_WEB", "ALI_WAP"]
CHECKOUT_CHANNELS: tuple[str, ...] = ("WX_NATIVE", "ALI_QRCODE", "ALI_WEB", "UN_WEB", "ALI_WAP")


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------- requests
BillNo = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{8,32}$")]
RefundNo = Annotated[str, StringConstraints(pattern=r"^[0-9]{8}[0-9A-Za-z]{3,24}$")]
OutOrderNo = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_-]{1,32}$")]
Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=100)]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254)]
Mobile = Annotated[str, StringConstraints(pattern=r"^[6-9][0-9]{9}$")]


class CreateBillRequest(_Request):
    """POST /bills: amounts in fen (CNY minor units)."""

    bill_no: BillNo
    channel: Channel
    total_fee: Amount
    title: Annotated[str, StringConstraints(min_length=1)]
    optional: dict[str, Any] | None = None
    return_url: str | None = None
    openid: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    show_url: str | None = None
    qr_pay_mode: Literal["0", "1", "3"] | None = None
    use_app: StrictBool | None = None  # ALI_WAP only: open the payer's Alipay app if installed


class CreateRefundRequest(_Request):
    """POST /refunds: refund_no is today's date in China time (yyyyMMdd) + 3-24 letters/digits."""

    refund_no: RefundNo
    bill_no: BillNo
    refund_fee: Amount
    optional: dict[str, Any] | None = None


class CreatePayoutRequest(_Request):
    """POST /payouts: amounts in paise (INR minor units)."""

    out_order_no: OutOrderNo
    amount: Amount
    account_type: Literal["Card"] = "Card"
    account: Annotated[str, StringConstraints(pattern=r"^[0-9]{6,20}$")]
    account_owner: Text
    bank_code: OutOrderNo
    ifsc: Annotated[str, StringConstraints(pattern=r"^[A-Z]{4}0[A-Z0-9]{6}$")]
    address: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    email: Email
    mobile: Mobile


class CreateCollectionRequest(_Request):
    """POST /collections: the payer pays at the returned `pay_url`."""

    out_order_no: OutOrderNo
    amount: Amount
    user_id: Text
    user_name: Text
    email: Email
    mobile: Mobile
    return_url: Annotated[str, StringConstraints(max_length=512)]


class CreateWebhookEndpointRequest(_Request):
    """POST /webhook-endpoints: event types, families ('payout.*') or '*'."""

    url: Annotated[str, StringConstraints(min_length=8, max_length=2048)]
    event_types: Annotated[list[str], Field(min_length=1, max_length=20)]
    description: Annotated[str, StringConstraints(max_length=256)] | None = None


class RotateSecretRequest(_Request):
    """POST /webhook-endpoints/{endpoint_id}/rotate-secret: how long the previous secret keeps signing."""

    expire_previous_after_s: Annotated[int, Field(ge=0, le=604_800)] = 86_400


class CreateCheckoutSessionRequest(_Request):
    """POST /checkout/sessions: a hosted payment page for total_fee fen, offering `channels` in order."""

    total_fee: Amount
    title: Annotated[str, StringConstraints(min_length=1)]
    channels: Annotated[list[CheckoutChannel], Field(min_length=1, max_length=len(CHECKOUT_CHANNELS))]
    return_url: str
    bill_no_prefix: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,10}$")] | None = None
    metadata: dict[str, Any] | None = None
    # Seconds until the session expires; not sent when None (the API's default: 30 minutes).
    expires_in: Annotated[StrictInt, Field(ge=300, le=86_400)] | SkipJsonSchema[None] = None

    @field_validator("channels")
    @classmethod
    def _channels_once_each(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each channel at most once")
        return value


# ---------------------------------------------------------------- responses
class Failure(_Response):
    code: str
    message: str


class Bill(_Response):
    object: Literal["bill"] = "bill"
    bill_no: str
    channel: Channel
    total_fee: int
    currency: str
    title: str
    optional: dict[str, Any] | None = None
    status: BillStatus
    payment: dict[str, Any] | None = None
    refunded_fee: int
    failure: Failure | None = None
    created_at: str
    updated_at: str
    paid_at: str | None = None


class Refund(_Response):
    object: Literal["refund"] = "refund"
    refund_no: str
    bill_no: str
    channel: Channel
    refund_fee: int
    currency: str
    optional: dict[str, Any] | None = None
    status: RefundStatus
    approval_url: str | None = None
    failure: Failure | None = None
    created_at: str
    updated_at: str
    finished_at: str | None = None


class Payout(_Response):
    object: Literal["payout"] = "payout"
    out_order_no: str
    amount: int
    currency: str
    account_type: str
    account_last4: str
    account_owner: str
    bank_code: str
    ifsc: str
    status: TransferStatus
    provider_order_no: str | None = None
    failure: Failure | None = None
    unknown_reason: str | None = None
    created_at: str
    updated_at: str
    finished_at: str | None = None


class Collection(_Response):
    object: Literal["collection"] = "collection"
    out_order_no: str
    amount: int
    currency: str
    paid: int | None = None
    user_id: str
    user_name: str
    return_url: str
    pay_url: str | None = None
    status: TransferStatus
    provider_order_no: str | None = None
    failure: Failure | None = None
    unknown_reason: str | None = None
    created_at: str
    updated_at: str
    finished_at: str | None = None


class Balance(_Response):
    object: Literal["balance"] = "balance"
    currency: Literal["INR"] = "INR"
    available: str
    available_paise: int | None = None


class BillList(_Response):
    object: Literal["list"] = "list"
    data: list[Bill]
    next_cursor: str | None


class RefundList(_Response):
    object: Literal["list"] = "list"
    data: list[Refund]
    next_cursor: str | None


class PayoutList(_Response):
    object: Literal["list"] = "list"
    data: list[Payout]
    next_cursor: str | None


class CollectionList(_Response):
    object: Literal["list"] = "list"
    data: list[Collection]
    next_cursor: str | None


class WebhookEndpoint(_Response):
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    id: str
    url: str
    event_types: list[str]
    description: str | None = None
    created_at: str
    secret_rotated_at: str | None = None


class CreatedWebhookEndpoint(WebhookEndpoint):
    """The endpoint as created, with its signing secret (shown once: store it now)."""

    secret: str


class DeletedWebhookEndpoint(_Response):
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    id: str
    deleted: Literal[True] = True


class WebhookEndpointList(_Response):
    object: Literal["list"] = "list"
    data: list[WebhookEndpoint]


class Delivery(_Response):
    """One delivery attempt of one event to one endpoint."""

    object: Literal["webhook_delivery"] = "webhook_delivery"
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    attempt: int
    status: Literal["succeeded", "failed"]
    response_status: int | None
    latency_ms: int
    error: str | None
    attempted_at: str
    next_attempt_at: str | None
    final: bool
    resend: bool


class DeliveryList(_Response):
    object: Literal["list"] = "list"
    data: list[Delivery]
    next_cursor: str | None


class Resend(_Response):
    object: Literal["event_resend"] = "event_resend"
    event_id: str
    endpoint_ids: list[str]


class CheckoutSession(_Response):
    """A hosted checkout session: `url` is the payer's page while it is open; `bill_no` the bill that paid it."""

    object: Literal["checkout.session"] = "checkout.session"
    id: str
    url: str | None
    status: CheckoutSessionStatus
    total_fee: int
    currency: str
    title: str
    channels: list[str]
    return_url: str
    bill_no_prefix: str | None = None
    metadata: dict[str, Any] | None = None
    bill_no: str | None = None
    created_at: str
    expires_at: str
    completed_at: str | None = None


class ErrorDetail(_Response):
    code: str
    message: str
    details: Any = None
    request_id: str | None = None


class ErrorResponse(_Response):
    error: ErrorDetail


# Client model -> its schema in docs/openapi.json (components/schemas).
OPENAPI_SCHEMAS: dict[type[BaseModel] | type[StrEnum], str] = {
    Channel: "Channel",
    BillStatus: "BillStatus",
    RefundStatus: "RefundStatus",
    TransferStatus: "TransferStatus",
    CreateBillRequest: "CreateBillRequest",
    CreateRefundRequest: "CreateRefundRequest",
    CreatePayoutRequest: "CreatePayoutRequest",
    CreateCollectionRequest: "CreateCollectionRequest",
    Failure: "Failure",
    Bill: "BillView",
    Refund: "RefundView",
    Payout: "PayoutView",
    Collection: "CollectionView",
    Balance: "BalanceView",
    BillList: "BillList",
    RefundList: "RefundList",
    PayoutList: "PayoutList",
    CollectionList: "CollectionList",
    ErrorDetail: "ErrorDetail",
    ErrorResponse: "ErrorResponse",
    CreateWebhookEndpointRequest: "CreateWebhookEndpointRequest",
    RotateSecretRequest: "RotateSecretRequest",
    WebhookEndpoint: "WebhookEndpointView",
    CreatedWebhookEndpoint: "CreatedWebhookEndpointView",
    DeletedWebhookEndpoint: "DeletedWebhookEndpointView",
    WebhookEndpointList: "WebhookEndpointList",
    Delivery: "DeliveryView",
    DeliveryList: "DeliveryList",
    Resend: "ResendView",
    CheckoutSessionStatus: "CheckoutStatus",
    CreateCheckoutSessionRequest: "CreateCheckoutSessionRequest",
    CheckoutSession: "CheckoutSessionView",
}
