"""BeeCloud REST API v1 (WeChat Pay, Alipay, UnionPay): bills, refunds, queries, webhooks.

Wire rules (protocols §1): POST bodies are JSON; GET queries carry one `para` parameter,
compact JSON encoded with quote_plus; every request is authenticated by
`app_sign = md5(app_id + timestamp_ms + app_secret)`; every answer is HTTP 200 with the
envelope `result_code`/`result_msg`/`err_detail`, `result_code == 0` meaning success.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from urllib.parse import quote_plus

import httpx
from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, ValidationError

from paygate.credentials import BeeCloudCredentials
from paygate.errors import (
    ProviderProtocolError,
    ProviderRejectedError,
    WebhookVerificationError,
    beecloud_reason,
    is_indeterminate,
)
from paygate.providers._wire import (
    WireBool,
    WireInt,
    WireStr,
    bool_from_wire,
    building,
    describe_validation_error,
    exchanging,
    hex_equal,
    int_from_wire,
)
from paygate.providers.http import encode_json, json_object, send, with_retries
from paygate.providers.limits import BILL_CHANNELS as BILL_CHANNELS
from paygate.providers.limits import QR_PAY_MODES as QR_PAY_MODES
from paygate.providers.limits import RETURN_URL_REQUIRED as RETURN_URL_REQUIRED
from paygate.providers.limits import (
    check_bill_no,
    check_bill_no_reference,
    check_channel_extras,
    check_fee,
    check_optional,
    check_refund_no,
    check_title,
)
from paygate.providers.limits import refund_no_date as refund_no_date
from paygate.providers.limits import title_length as title_length

# A child of the function's Logger: JSON, its service, correlation id and keys, its level.
logger = Logger(child=True)

PROVIDER: Literal["beecloud"] = "beecloud"

BILL_PATH = "/1/rest/bill"
REFUND_PATH = "/1/rest/refund"
BILLS_PATH = "/1/rest/bills"
REFUNDS_PATH = "/1/rest/refunds"
REFUND_STATUS_PATH = "/1/rest/refund/status"

CHANNEL_FAMILIES: frozenset[str] = frozenset({"WX", "ALI", "UN"})
QUERY_CHANNELS: frozenset[str] = BILL_CHANNELS | CHANNEL_FAMILIES
MAX_QUERY_LIMIT = 50
ENVELOPE_KEYS: frozenset[str] = frozenset({"result_code", "result_msg", "err_detail"})

# What a successful /bill answer must carry per channel (protocols §1.3); any one key of a set suffices.
_PAYMENT_PARAMS: dict[str, tuple[frozenset[str], ...]] = {
    "WX_APP": tuple(
        frozenset({k}) for k in ("app_id", "partner_id", "package", "nonce_str", "timestamp", "pay_sign", "prepay_id")
    ),
    "WX_NATIVE": (frozenset({"code_url"}),),
    "WX_JSAPI": tuple(frozenset({k}) for k in ("app_id", "package", "nonce_str", "timestamp", "pay_sign", "sign_type")),
    "ALI_APP": (frozenset({"order_string"}),),
    "ALI_WEB": (frozenset({"html", "url"}),),
    "ALI_WAP": (frozenset({"html", "url"}),),
    "ALI_QRCODE": (frozenset({"html", "url"}),),
    "UN_APP": (frozenset({"tn"}),),
    "UN_WEB": (frozenset({"html"}),),
}
if set(_PAYMENT_PARAMS) != BILL_CHANNELS:
    raise RuntimeError("every bill channel needs its expected payment parameters")

_M = TypeVar("_M", bound=BaseModel)


@dataclass(frozen=True)
class RefundAccepted:
    """BeeCloud took the refund. Alipay refunds return the `url` where the merchant confirms it."""

    url: str | None
    id: str | None


@dataclass(frozen=True)
class BeeCloudBill:
    """One item of GET /1/rest/bills."""

    bill_no: str
    total_fee: int
    channel: str
    title: str
    spay_result: bool
    created_time: int


@dataclass(frozen=True)
class BeeCloudRefund:
    """One item of GET /1/rest/refunds. `channel` and `title` come from later v1 servers only."""

    bill_no: str
    refund_no: str
    total_fee: int
    refund_fee: int
    finish: bool
    result: bool
    created_time: int
    channel: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class BeeCloudWebhook:
    """A verified webhook. `transaction_id` is the bill_no (PAY) or the refund_no (REFUND)."""

    transaction_type: Literal["PAY", "REFUND"] | str
    transaction_id: str
    transaction_fee: int
    channel_type: str
    sub_channel_type: str | None
    trade_success: bool
    optional: dict[str, Any]
    timestamp_ms: int
    verified_by: Literal["signature", "sign"]


def app_sign(app_id: str, timestamp_ms: int, secret: str) -> str:
    """`md5(app_id + timestamp + secret)` as lower-case hex (BeeCloud's request signature, protocols §1.2)."""
    return hashlib.md5(f"{app_id}{timestamp_ms}{secret}".encode()).hexdigest()


def webhook_sign(app_id: str, app_secret: str, timestamp: int | str) -> str:
    """Legacy webhook `sign = md5(app_id + app_secret + timestamp)`, lower-case hex."""
    return hashlib.md5(f"{app_id}{app_secret}{timestamp}".encode()).hexdigest()


def webhook_signature(
    app_id: str,
    transaction_id: str,
    transaction_type: str,
    channel_type: str,
    transaction_fee: int | str,
    master_secret: str,
) -> str:
    """2017+ webhook `signature = md5(app_id + transaction_id + type + channel + fee + master_secret)`."""
    text = f"{app_id}{transaction_id}{transaction_type}{channel_type}{transaction_fee}{master_secret}"
    return hashlib.md5(text.encode()).hexdigest()


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _BillItem(_Wire):
    bill_no: WireStr
    total_fee: WireInt
    channel: WireStr
    title: str = ""
    spay_result: WireBool
    created_time: WireInt


class _RefundItem(_Wire):
    bill_no: WireStr
    refund_no: WireStr
    total_fee: WireInt
    refund_fee: WireInt
    finish: WireBool
    result: WireBool
    created_time: WireInt
    channel: str | None = None
    title: str | None = None


class _BillsAnswer(_Wire):
    bills: list[_BillItem]


class _RefundsAnswer(_Wire):
    refunds: list[_RefundItem]


class _RefundAnswer(_Wire):
    url: str | None = None
    id: str | None = None


class _RefundStatusAnswer(_Wire):
    refund_status: str


def _require_text(name: str, value: str) -> str:
    if not isinstance(value, str) or not value or value != value.strip():
        raise ValueError(f"{name} must be a non-empty string without surrounding whitespace")
    return value


def _optional_text(value: str | None) -> str | None:
    """Optional strings: None, "" and whitespace are 'not given' and never sent."""
    if value is None or not value.strip():
        return None
    return value


def _require_channel(channel: str, allowed: frozenset[str], what: str) -> str:
    if channel not in allowed:
        raise ValueError(f"{what} channel must be one of {sorted(allowed)}")
    return channel


def _with_name(name: str, check: Callable[[Any], Any], value: Any) -> None:
    """Run a shared check whose message does not name the field (amounts are fees or refunds)."""
    try:
        check(value)
    except ValueError as exc:
        raise ValueError(f"{name} {exc}") from None


def _bill_fields(channel: str, bill_no: str, total_fee: int, title: str) -> dict[str, Any]:
    _require_channel(channel, BILL_CHANNELS, "bill")
    check_bill_no(bill_no)
    _with_name("total_fee", check_fee, total_fee)
    check_title(title)
    return {"channel": channel, "total_fee": total_fee, "bill_no": bill_no, "title": title}


def _channel_fields(
    channel: str,
    *,
    return_url: str | None,
    openid: str | None,
    show_url: str | None,
    qr_pay_mode: str | None,
    use_app: bool | None = None,
) -> dict[str, str | bool]:
    """The channel-specific fields: only those given (blank = not given), only where BeeCloud defines them."""
    return check_channel_extras(
        channel,
        return_url=_optional_text(return_url),
        openid=_optional_text(openid),
        show_url=_optional_text(show_url),
        qr_pay_mode=_optional_text(qr_pay_mode),
        use_app=use_app,
    )


class BeeCloudClient:
    """Speaks BeeCloud REST v1. Creates are sent once; queries are retried on transient failures."""

    def __init__(
        self,
        base_url: str,
        http: httpx.Client,
        clock: Callable[[], float] = time.time,
        *,
        query_retries: int = 2,
        retry_backoff_s: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._http = http
        self._clock = clock
        self._query_retries = query_retries
        self._retry_backoff_s = retry_backoff_s
        self._sleep = sleep

    # -- writes ---------------------------------------------------------------------------------

    def create_bill(
        self,
        creds: BeeCloudCredentials,
        *,
        channel: str,
        bill_no: str,
        total_fee: int,
        title: str,
        optional: Mapping[str, Any] | None = None,
        return_url: str | None = None,
        openid: str | None = None,
        show_url: str | None = None,
        qr_pay_mode: str | None = None,
        use_app: bool | None = None,
    ) -> dict[str, Any]:
        """Create a bill; returns the channel's payment parameters (the answer minus the envelope).

        Sent exactly once: a lost answer surfaces as an outcome-unknown error, never a resend.
        """
        with building(PROVIDER, BILL_PATH):
            body: dict[str, Any] = {
                **_bill_fields(channel, bill_no, total_fee, title),
                **_channel_fields(
                    channel,
                    return_url=return_url,
                    openid=openid,
                    show_url=show_url,
                    qr_pay_mode=qr_pay_mode,
                    use_app=use_app,
                ),
            }
            if optional:
                body["optional"] = dict(optional)
                check_optional(body["optional"])
            content = encode_json({**self._auth(creds), **body})

        with exchanging(PROVIDER, BILL_PATH):
            answer = self._post(BILL_PATH, content)
            params = {k: v for k, v in answer.items() if k not in ENVELOPE_KEYS}
            for keys in _PAYMENT_PARAMS[channel]:
                if not any(isinstance(params.get(k), str | int) and params.get(k) != "" for k in keys):
                    raise ProviderProtocolError(
                        PROVIDER, f"{BILL_PATH}: {channel} answer lacks {'/'.join(sorted(keys))}"
                    )
            return params

    def refund(
        self,
        creds: BeeCloudCredentials,
        *,
        channel: str,
        refund_no: str,
        bill_no: str,
        refund_fee: int,
        optional: Mapping[str, Any] | None = None,
    ) -> RefundAccepted:
        """Ask for a refund of a paid bill. `channel` may be the family (WX/ALI/UN) or the bill's channel.

        Sent exactly once. Signed with app_secret, as v1 specifies (master_secret is a v2 rule).
        """
        with building(PROVIDER, REFUND_PATH):
            family = channel.split("_", 1)[0] if isinstance(channel, str) else ""
            _require_channel(family, CHANNEL_FAMILIES, "refund")
            if channel != family:
                _require_channel(channel, BILL_CHANNELS, "refund")
            check_refund_no(refund_no)
            check_bill_no_reference(bill_no)
            _with_name("refund_fee", check_fee, refund_fee)
            body: dict[str, Any] = {
                **self._auth(creds),
                "channel": family,
                "refund_no": refund_no,
                "bill_no": bill_no,
                "refund_fee": refund_fee,
            }
            if optional:
                body["optional"] = dict(optional)
                check_optional(body["optional"])
            content = encode_json(body)
        with exchanging(PROVIDER, REFUND_PATH):
            answer = self._post(REFUND_PATH, content)
            parsed = self._parse(_RefundAnswer, answer, REFUND_PATH)
            return RefundAccepted(url=_optional_text(parsed.url), id=_optional_text(parsed.id))

    # -- queries (idempotent, retried) ----------------------------------------------------------

    def query_bills(
        self,
        creds: BeeCloudCredentials,
        *,
        channel: str | None = None,
        bill_no: str | None = None,
        start_time_ms: int | None = None,
        end_time_ms: int | None = None,
        skip: int = 0,
        limit: int = 10,
    ) -> list[BeeCloudBill]:
        """Bills matching all given filters (times are creation times, ms)."""
        with building(PROVIDER, BILLS_PATH):
            filters = self._filters(
                channel=channel,
                bill_no=bill_no,
                start_time_ms=start_time_ms,
                end_time_ms=end_time_ms,
                skip=skip,
                limit=limit,
            )
        with exchanging(PROVIDER, BILLS_PATH):
            answer = self._get(BILLS_PATH, creds, filters)
            parsed = self._parse(_BillsAnswer, answer, BILLS_PATH)
            return [BeeCloudBill(**item.model_dump()) for item in parsed.bills]

    def query_refunds(
        self,
        creds: BeeCloudCredentials,
        *,
        channel: str | None = None,
        bill_no: str | None = None,
        refund_no: str | None = None,
        start_time_ms: int | None = None,
        end_time_ms: int | None = None,
        skip: int = 0,
        limit: int = 10,
    ) -> list[BeeCloudRefund]:
        """Refunds matching all given filters (times are creation times, ms)."""
        with building(PROVIDER, REFUNDS_PATH):
            filters = self._filters(
                channel=channel,
                bill_no=bill_no,
                start_time_ms=start_time_ms,
                end_time_ms=end_time_ms,
                skip=skip,
                limit=limit,
            )
            refund_no = _optional_text(refund_no)
            if refund_no is not None:
                filters["refund_no"] = refund_no
        with exchanging(PROVIDER, REFUNDS_PATH):
            answer = self._get(REFUNDS_PATH, creds, filters)
            parsed = self._parse(_RefundsAnswer, answer, REFUNDS_PATH)
            return [BeeCloudRefund(**item.model_dump()) for item in parsed.refunds]

    def refund_status(self, creds: BeeCloudCredentials, *, refund_no: str, channel: str = "WX") -> str:
        """Refresh a (WeChat) refund's status; the provider's string as returned, e.g. SUCCESS."""
        with building(PROVIDER, REFUND_STATUS_PATH):
            _require_text("refund_no", refund_no)
            _require_text("channel", channel)
        with exchanging(PROVIDER, REFUND_STATUS_PATH):
            answer = self._get(REFUND_STATUS_PATH, creds, {"channel": channel, "refund_no": refund_no})
            parsed = self._parse(_RefundStatusAnswer, answer, REFUND_STATUS_PATH)
            if not parsed.refund_status.strip():
                raise ProviderProtocolError(PROVIDER, f"{REFUND_STATUS_PATH}: empty refund_status")
            return parsed.refund_status

    # -- plumbing -------------------------------------------------------------------------------

    def _auth(self, creds: BeeCloudCredentials) -> dict[str, Any]:
        timestamp = int(self._clock() * 1000)
        return {
            "app_id": creds.app_id,
            "timestamp": timestamp,
            "app_sign": app_sign(creds.app_id, timestamp, creds.app_secret),
        }

    @staticmethod
    def _filters(
        *,
        channel: str | None,
        bill_no: str | None,
        start_time_ms: int | None,
        end_time_ms: int | None,
        skip: int,
        limit: int,
    ) -> dict[str, Any]:
        filters: dict[str, Any] = {}
        channel = _optional_text(channel)
        if channel is not None:
            filters["channel"] = _require_channel(channel, QUERY_CHANNELS, "query")
        bill_no = _optional_text(bill_no)
        if bill_no is not None:
            filters["bill_no"] = bill_no
        for name, value in (("start_time", start_time_ms), ("end_time", end_time_ms)):
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise ValueError(f"{name} must be epoch milliseconds")
                filters[name] = value
        if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
            raise ValueError("skip must be a non-negative integer")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_QUERY_LIMIT:
            raise ValueError(f"limit must be 1..{MAX_QUERY_LIMIT}")
        filters["skip"] = skip
        filters["limit"] = limit
        return filters

    def _post(self, path: str, content: bytes) -> dict[str, Any]:
        response = send(self._http, PROVIDER, "POST", self._base_url + path, content=content)
        return _envelope(response, path, write=True)

    def _get(self, path: str, creds: BeeCloudCredentials, filters: dict[str, Any]) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            # A fresh timestamp per attempt: a retry must not be refused as stale.
            para = {**self._auth(creds), **filters}
            url = f"{self._base_url}{path}?para={quote_plus(json.dumps(para, separators=(',', ':')))}"
            return _envelope(send(self._http, PROVIDER, "GET", url), path, write=False)

        return with_retries(attempt, retries=self._query_retries, backoff_s=self._retry_backoff_s, sleep=self._sleep)

    @staticmethod
    def _parse(model: type[_M], answer: dict[str, Any], path: str) -> _M:
        try:
            return model.model_validate(answer)
        except ValidationError as exc:
            raise ProviderProtocolError(PROVIDER, f"{path}: {describe_validation_error(exc)}") from exc


def _envelope(response: httpx.Response, path: str, *, write: bool) -> dict[str, Any]:
    """The answer of a successful call, or the matching ProviderError."""
    body = json_object(response, PROVIDER)
    try:
        code = int_from_wire(body.get("result_code"))
    except ValueError as exc:
        raise ProviderProtocolError(
            PROVIDER, f"{path}: HTTP {response.status_code} without an integer result_code"
        ) from exc
    if code == 0:
        if response.status_code != 200:
            raise ProviderProtocolError(PROVIDER, f"{path}: HTTP {response.status_code} claiming success")
        return body
    message = " ".join(str(body.get(k) or "") for k in ("result_msg", "err_detail")).strip()
    raise ProviderRejectedError(
        PROVIDER,
        code,
        message,
        beecloud_reason(code),
        outcome_unknown=write and is_indeterminate(PROVIDER, code),
    )


# -- webhooks -----------------------------------------------------------------------------------


def _field(payload: Mapping[str, Any], snake: str, camel: str) -> Any:
    """Snake_case first (2015-10 onwards), camelCase fallback (the 2015 generation)."""
    value = payload.get(snake)
    return payload.get(camel) if value is None else value


def _webhook_text(payload: Mapping[str, Any], snake: str, camel: str) -> str:
    value = _field(payload, snake, camel)
    if not isinstance(value, str) or not value:
        raise WebhookVerificationError(f"webhook field {snake} missing or not a string")
    return value


def _webhook_int(value: Any, name: str) -> tuple[str, int]:
    """A non-negative integer field and its decimal text as signed (JSON integer or digit string)."""
    try:
        number = int_from_wire(value)
    except ValueError as exc:
        raise WebhookVerificationError(f"webhook {name} is not an integer") from exc
    if number < 0:
        raise WebhookVerificationError(f"webhook {name} is negative")
    return str(value), number


def _verified_by(
    payload: Mapping[str, Any], creds: BeeCloudCredentials, signed_fields: list[str], timestamp_text: str
) -> Literal["signature", "sign"]:
    """Which of the two webhook signatures holds: `signature` first (it covers the fee), then `sign`."""
    signature = payload.get("signature")
    if signature is not None and creds.master_secret:
        transaction_id, transaction_type, channel_type, fee_text = signed_fields
        expected = webhook_signature(
            creds.app_id, transaction_id, transaction_type, channel_type, fee_text, creds.master_secret
        )
        if hex_equal(expected, signature):
            return "signature"
        # Either a wrong master_secret in our settings or a tampered fee: `sign` may still
        # hold, so the fee must be checked against the order (the domain always does).
        logger.warning("beecloud webhook: `signature` mismatch, falling back to `sign`")
    sign = payload.get("sign")
    if sign is not None and hex_equal(webhook_sign(creds.app_id, creds.app_secret, timestamp_text), sign):
        return "sign"
    raise WebhookVerificationError("webhook signature missing or wrong", code="signature_mismatch")


def named_order(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    """The transaction type and number a webhook names, read without verifying anything.

    Only for telling an order's history that a webhook it refused was about that order.
    """
    if not isinstance(payload, Mapping):
        return None
    kind = _field(payload, "transaction_type", "transactionType")
    number = _field(payload, "transaction_id", "transactionId")
    if isinstance(kind, str) and isinstance(number, str) and 0 < len(number) <= 64:  # a lookup key, not a value
        return kind, number
    return None


def verify_webhook(payload: Mapping[str, Any], creds: BeeCloudCredentials) -> BeeCloudWebhook:
    """Verify and parse a BeeCloud webhook body (protocols §1.6, all three payload generations).

    `signature` (with master_secret, covers the fee) is tried first when both are present;
    otherwise, or if it does not match, `sign` (app_secret + timestamp). The fee must be an
    integer. No timestamp window: BeeCloud retries for ~36 h. Raises WebhookVerificationError.
    """
    if not isinstance(payload, Mapping):
        raise WebhookVerificationError("webhook body is not a JSON object")
    transaction_type = _webhook_text(payload, "transaction_type", "transactionType")
    transaction_id = _webhook_text(payload, "transaction_id", "transactionId")
    channel_type = _webhook_text(payload, "channel_type", "channelType")
    fee_text, fee = _webhook_int(_field(payload, "transaction_fee", "transactionFee"), "transaction_fee")
    timestamp_text, timestamp_ms = _webhook_int(payload.get("timestamp"), "timestamp")
    verified_by = _verified_by(
        payload, creds, [transaction_id, transaction_type, channel_type, fee_text], timestamp_text
    )
    try:
        trade_success = bool_from_wire(_field(payload, "trade_success", "tradeSuccess"))
    except ValueError as exc:
        raise WebhookVerificationError("webhook trade_success is not a boolean") from exc
    optional = payload.get("optional")
    if optional is None:
        optional = {}
    if not isinstance(optional, Mapping):
        raise WebhookVerificationError("webhook optional is not an object")
    sub_channel = _field(payload, "sub_channel_type", "subChannelType")
    if sub_channel is not None and not isinstance(sub_channel, str):
        raise WebhookVerificationError("webhook sub_channel_type is not a string")
    return BeeCloudWebhook(
        transaction_type=transaction_type,
        transaction_id=transaction_id,
        transaction_fee=fee,
        channel_type=channel_type,
        sub_channel_type=sub_channel or None,
        trade_success=trade_success,
        optional=dict(optional),
        timestamp_ms=timestamp_ms,
        verified_by=verified_by,
    )
