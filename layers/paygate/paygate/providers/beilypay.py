"""BeilyPay API v2 (India): payouts (代付), collections (代收), balance, async notifies.

Wire rules: every call is a JSON POST carrying `appId`, `merchantId` and
`sign` = upper-case MD5 of the sorted non-empty fields `k=v&…&key=SECRET`. Every answer is
`{"code", "msg", "data"}`, `code == 200` meaning success; `data.sign` is required on order answers
(verified when present on the balance).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import IntEnum
from typing import Annotated, Any, Literal

import httpx
from aws_lambda_powertools import Logger
from pydantic import AliasGenerator, BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from paygate.credentials import BeilyPayCredentials
from paygate.errors import (
    ProviderProtocolError,
    ProviderRejectedError,
    WebhookVerificationError,
    beilypay_reason,
    is_indeterminate,
)
from paygate.providers._wire import (
    WireInt,
    WireStr,
    building,
    describe_validation_error,
    exchanging,
    hex_equal,
    int_from_wire,
)
from paygate.providers.http import encode_json, json_object, send, with_retries
from paygate.providers.limits import INT32_MAX as INT32_MAX
from paygate.providers.limits import check_amount, check_text

# A child of the function's Logger: JSON, its service, correlation id and keys, its level.
logger = Logger(child=True)

PROVIDER: Literal["beilypay"] = "beilypay"

TRANS_CREATE_PATH = "/v2/trans/create"
TRANS_QUERY_PATH = "/v2/trans/query"
PAYMENT_CREATE_PATH = "/v2/payment/create"
PAYMENT_QUERY_PATH = "/v2/payment/query"
ACCOUNT_INFO_PATH = "/merchant/accountInfo"
# Order answers document a `data.sign` and one without it is refused (it could say anything about
# money); the balance answer's signature is not documented, so it is verified only when present.
_UNSIGNED_ANSWERS = frozenset({ACCOUNT_INFO_PATH})

SUCCESS_CODE = 200

# The documented field sets of each signed object (the fallback when "all received fields"
# does not verify, e.g. a server that adds a field but signs only the documented ones).
TRANS_CREATE_FIELDS = ("appId", "merchantId", "outOrderNo", "payAmount", "status", "orderNo", "transTime")
TRANS_QUERY_FIELDS = ("appId", "merchantId", "outOrderNo", "payAmount", "status", "orderNo")
PAYMENT_CREATE_FIELDS = ("outOrderNo", "payAmount", "payUrl", "orderNo")
PAYMENT_QUERY_FIELDS = ("outOrderNo", "paid", "payAmount", "status", "orderNo", "transTime")
ACCOUNT_INFO_FIELDS = ("merchantId", "settlementAmount")
PAYOUT_NOTIFY_FIELDS = ("appId", "merchantId", "outOrderNo", "payAmount", "status", "orderNo", "payTime")
COLLECTION_NOTIFY_FIELDS = ("outOrderNo", "paid", "status", "orderNo", "payTime")


class PayoutStatus(IntEnum):
    """A payout's `status` on the wire (trans/create, trans/query, the payout notify)."""

    PENDING = 1  # waiting for the bank's answer ("waiting for callback")
    SUCCEEDED = 2
    FAILED = 3


class CollectionStatus(IntEnum):
    """A collection's `status` on the wire (payment/query, the collection notify)."""

    CREATE_FAILED = 0
    PENDING = 1
    PAID = 2
    FAILED = 3


PAYOUT_STATUSES = frozenset(PayoutStatus)
COLLECTION_STATUSES = frozenset(CollectionStatus)


@dataclass(frozen=True)
class PayoutState:
    """A payout as BeilyPay reports it. status: 1 pending, 2 succeeded, 3 failed."""

    order_no: str
    out_order_no: str
    amount: int
    status: int
    trans_time: str | None


@dataclass(frozen=True)
class CollectionCreated:
    """A collection order: send the payer to `pay_url`."""

    order_no: str
    out_order_no: str
    amount: int
    pay_url: str


@dataclass(frozen=True)
class CollectionState:
    """A collection as BeilyPay reports it. status: 0 creation failed, 1 pending, 2 paid, 3 failed."""

    order_no: str
    out_order_no: str
    amount: int
    paid: int | None
    status: int
    trans_time: str | None


@dataclass(frozen=True)
class PayoutNotify:
    """A verified payout notify (status 2 succeeded, 3 failed; 1 tolerated)."""

    order_no: str
    out_order_no: str
    amount: int
    status: int
    app_id: int
    merchant_id: int
    pay_time: str | None


@dataclass(frozen=True)
class CollectionNotify:
    """A verified collection notify; `paid` is what the payer actually paid (paise)."""

    order_no: str
    out_order_no: str
    paid: int
    status: int
    pay_time: str | None


# -- signing -------------------------------------------------------------------------------------


def _render(value: Any) -> str:
    """A value as it appears in the string to sign: JSON scalars as their literal text.

    Numbers parsed by `json_object`/`parse_callback_body` are `JsonNumber`s, whose text is what
    the wire carried (`999754.00`, `1e3`); null and "" never get here (`_sign_fields` skips them).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal | float):
        return str(value)
    # Nested values are undocumented; decimals inside them (parse_float=Decimal) render as their
    # text rather than raising, so a strange answer or notify fails verification, not the code.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _sign_fields(params: Mapping[str, Any], secret: str, *, include_empty: bool = False) -> str:
    parts = []
    for key in sorted(params):
        value = params[key]
        if key == "sign" or value is None or (value == "" and not include_empty):
            continue
        parts.append(f"{key}={_render(value)}")
    parts.append(f"key={secret}")
    return hashlib.md5("&".join(parts).encode()).hexdigest().upper()


def sign(params: Mapping[str, Any], secret: str) -> str:
    """BeilyPay's signature: upper-case MD5 of the sorted non-empty `k=v` pairs + `&key=SECRET`."""
    return _sign_fields(params, secret)


def verify_signature(params: Mapping[str, Any], secret: str, *, fallback_fields: Sequence[str] | None = None) -> bool:
    """True if `params["sign"]` is BeilyPay's signature of `params` (case-insensitive, constant-time).

    Tried in order: all received fields except `sign`; the documented subset `fallback_fields`;
    then both again with empty strings included as `k=` (the Java/Python SDK variant).
    """
    received = params.get("sign")
    if not isinstance(received, str) or not received:
        return False
    subsets: list[Mapping[str, Any]] = [params]
    if fallback_fields is not None:
        subsets.append({k: params[k] for k in fallback_fields if k in params})
    return any(
        hex_equal(_sign_fields(subset, secret, include_empty=include_empty), received)
        for include_empty in (False, True)
        for subset in subsets
    )


def mask(value: str, keep: int = 4) -> str:
    """For logs: all but the last `keep` characters hidden (account numbers, mobiles)."""
    return "*" * max(len(value) - keep, 0) + value[-keep:] if len(value) > keep else "*" * len(value)


# -- wire models ---------------------------------------------------------------------------------


def _decimal_from_wire(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal | float):
        raise ValueError("expected a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError("expected a number") from exc
    if not number.is_finite():
        raise ValueError("expected a finite number")
    return number


def _optional_time(value: Any) -> str | None:
    """Times are undocumented ("Date"): keep the text, or epoch ms as digits; "" means none."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError("expected a time string")


WireDecimal = Annotated[Decimal, BeforeValidator(_decimal_from_wire)]
WireTime = Annotated[str | None, BeforeValidator(_optional_time)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, alias_generator=AliasGenerator(validation_alias=to_camel))


class _TransVO(_Wire):
    order_no: WireStr
    out_order_no: WireStr
    pay_amount: WireInt
    status: WireInt
    trans_time: WireTime = None


class _PayVO(_Wire):
    order_no: WireStr
    out_order_no: WireStr
    pay_amount: WireInt
    pay_url: str


class _PaymentOrderVO(_Wire):
    order_no: WireStr
    out_order_no: WireStr
    pay_amount: WireInt
    paid: WireInt | None = None
    status: WireInt
    trans_time: WireTime = None


class _MerchantAccountVO(_Wire):
    merchant_id: WireInt | None = None
    settlement_amount: WireDecimal


class _PayoutNotifyWire(_Wire):
    app_id: WireInt
    merchant_id: WireInt
    order_no: WireStr
    out_order_no: WireStr
    pay_amount: WireInt
    status: WireInt
    pay_time: WireTime = None


class _CollectionNotifyWire(_Wire):
    app_id: WireInt | None = None
    merchant_id: WireInt | None = None
    order_no: WireStr
    out_order_no: WireStr
    paid: WireInt
    status: WireInt
    pay_time: WireTime = None


# -- client --------------------------------------------------------------------------------------


def _require_text(name: str, value: str) -> str:
    try:
        return check_text(value)
    except ValueError as exc:
        raise ValueError(f"{name} {exc}") from None


def _optional_text(name: str, value: str | None) -> str | None:
    """Fields the SDKs treat as optional: blank means 'not given' and is never sent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _require_text(name, value)


def _require_amount(value: int) -> int:
    try:
        return check_amount(value)
    except ValueError as exc:
        raise ValueError(f"amount {exc}") from None


class BeilyPayClient:
    """Speaks BeilyPay v2. Creates are sent once; queries and balance are retried on transient failures."""

    def __init__(
        self,
        base_url: str,
        http: httpx.Client,
        *,
        query_retries: int = 2,
        retry_backoff_s: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._http = http
        self._query_retries = query_retries
        self._retry_backoff_s = retry_backoff_s
        self._sleep = sleep

    def create_payout(
        self,
        creds: BeilyPayCredentials,
        *,
        out_order_no: str,
        amount: int,
        account_type: str,
        account: str,
        account_owner: str,
        bank_code: str,
        ifsc: str,
        address: str,
        email: str,
        mobile: str,
        notify_url: str,
    ) -> PayoutState:
        """Create a payout (paise). Sent once: a lost answer is outcome-unknown, never re-sent here.

        Persist the returned `order_no`: BeilyPay can only be queried by it.
        """
        with building(PROVIDER, TRANS_CREATE_PATH):
            fields: dict[str, Any] = {
                "outOrderNo": _require_text("out_order_no", out_order_no),
                "payAmount": _require_amount(amount),
                "accountType": _require_text("account_type", account_type),
                "account": _require_text("account", account),
                "accountOwner": _require_text("account_owner", account_owner),
                "bankCode": _require_text("bank_code", bank_code),
                "ifsc": _require_text("ifsc", ifsc),
                "notifyUrl": _require_text("notify_url", notify_url),
            }
            for name, key, value in (
                ("address", "address", address),
                ("email", "email", email),
                ("mobile", "mobile", mobile),
            ):
                text = _optional_text(name, value)
                if text is not None:
                    fields[key] = text
            content = self._signed_body(creds, fields)
        logger.info(
            "beilypay payout create",
            extra={"out_order_no": out_order_no, "account": mask(account), "amount": amount},
        )
        with exchanging(PROVIDER, TRANS_CREATE_PATH):
            data = self._exchange(creds, TRANS_CREATE_PATH, content, write=True, signed_fields=TRANS_CREATE_FIELDS)
            vo = _parse(_TransVO, data, TRANS_CREATE_PATH)
            if vo.out_order_no != out_order_no or vo.pay_amount != amount:
                raise ProviderProtocolError(PROVIDER, f"{TRANS_CREATE_PATH}: answer is for another order or amount")
            return _payout_state(vo, TRANS_CREATE_PATH)

    def query_payout(self, creds: BeilyPayCredentials, *, order_no: str) -> PayoutState:
        """A payout's state, by BeilyPay's `order_no` (the only key BeilyPay can query by)."""
        with building(PROVIDER, TRANS_QUERY_PATH):
            fields = {"orderNo": _require_text("order_no", order_no)}
        data = self._query(creds, TRANS_QUERY_PATH, fields, signed_fields=TRANS_QUERY_FIELDS)
        with exchanging(PROVIDER, TRANS_QUERY_PATH):
            vo = _parse(_TransVO, data, TRANS_QUERY_PATH)
            if vo.order_no != order_no:
                raise ProviderProtocolError(PROVIDER, f"{TRANS_QUERY_PATH}: answer is for another order")
            return _payout_state(vo, TRANS_QUERY_PATH)

    def create_collection(
        self,
        creds: BeilyPayCredentials,
        *,
        out_order_no: str,
        amount: int,
        user_id: str,
        user_name: str,
        email: str,
        mobile: str,
        notify_url: str,
        front_callback: str,
    ) -> CollectionCreated:
        """Create a collection (paise); the payer pays at `pay_url`. Sent once."""
        with building(PROVIDER, PAYMENT_CREATE_PATH):
            fields: dict[str, Any] = {
                "outOrderNo": _require_text("out_order_no", out_order_no),
                "payAmount": _require_amount(amount),
                "userId": _require_text("user_id", user_id),
                "userName": _require_text("user_name", user_name),
                "notifyUrl": _require_text("notify_url", notify_url),
                "frontCallback": _require_text("front_callback", front_callback),
            }
            for name, key, value in (("email", "email", email), ("mobile", "mobile", mobile)):
                text = _optional_text(name, value)
                if text is not None:
                    fields[key] = text
            content = self._signed_body(creds, fields)
        with exchanging(PROVIDER, PAYMENT_CREATE_PATH):
            data = self._exchange(creds, PAYMENT_CREATE_PATH, content, write=True, signed_fields=PAYMENT_CREATE_FIELDS)
            vo = _parse(_PayVO, data, PAYMENT_CREATE_PATH)
            if vo.out_order_no != out_order_no or vo.pay_amount != amount:
                raise ProviderProtocolError(PROVIDER, f"{PAYMENT_CREATE_PATH}: answer is for another order or amount")
            if not vo.pay_url.strip() or not vo.order_no:
                raise ProviderProtocolError(PROVIDER, f"{PAYMENT_CREATE_PATH}: answer lacks payUrl or orderNo")
            return CollectionCreated(
                order_no=vo.order_no, out_order_no=vo.out_order_no, amount=vo.pay_amount, pay_url=vo.pay_url
            )

    def query_collection(self, creds: BeilyPayCredentials, *, order_no: str) -> CollectionState:
        """A collection's state, by BeilyPay's `order_no`."""
        with building(PROVIDER, PAYMENT_QUERY_PATH):
            fields = {"orderNo": _require_text("order_no", order_no)}
        data = self._query(creds, PAYMENT_QUERY_PATH, fields, signed_fields=PAYMENT_QUERY_FIELDS)
        with exchanging(PROVIDER, PAYMENT_QUERY_PATH):
            vo = _parse(_PaymentOrderVO, data, PAYMENT_QUERY_PATH)
            if vo.order_no != order_no:
                raise ProviderProtocolError(PROVIDER, f"{PAYMENT_QUERY_PATH}: answer is for another order")
            if vo.status not in COLLECTION_STATUSES or vo.pay_amount < 0 or (vo.paid is not None and vo.paid < 0):
                raise ProviderProtocolError(PROVIDER, f"{PAYMENT_QUERY_PATH}: unknown status or negative amount")
            if vo.status == CollectionStatus.PAID and vo.paid is None:
                # How much the customer paid is what a paid collection records: never guessed.
                raise ProviderProtocolError(PROVIDER, f"{PAYMENT_QUERY_PATH}: paid without the amount paid")
            return CollectionState(
                order_no=vo.order_no,
                out_order_no=vo.out_order_no,
                amount=vo.pay_amount,
                paid=vo.paid,
                status=vo.status,
                trans_time=vo.trans_time,
            )

    def balance(self, creds: BeilyPayCredentials) -> Decimal:
        """The merchant's available balance (`settlementAmount`) in INR, exact (not paise)."""
        data = self._query(creds, ACCOUNT_INFO_PATH, {}, signed_fields=ACCOUNT_INFO_FIELDS)
        with exchanging(PROVIDER, ACCOUNT_INFO_PATH):
            vo = _parse(_MerchantAccountVO, data, ACCOUNT_INFO_PATH)
            if vo.merchant_id is not None and vo.merchant_id != creds.merchant_id:
                raise ProviderProtocolError(PROVIDER, f"{ACCOUNT_INFO_PATH}: answer is for another merchant")
            return vo.settlement_amount

    # -- plumbing -------------------------------------------------------------------------------

    def _query(
        self, creds: BeilyPayCredentials, path: str, fields: dict[str, Any], *, signed_fields: Sequence[str]
    ) -> dict[str, Any]:
        with building(PROVIDER, path):
            content = self._signed_body(creds, fields)
        return with_retries(
            lambda: self._exchange(creds, path, content, write=False, signed_fields=signed_fields),
            retries=self._query_retries,
            backoff_s=self._retry_backoff_s,
            sleep=self._sleep,
        )

    @staticmethod
    def _signed_body(creds: BeilyPayCredentials, fields: dict[str, Any]) -> bytes:
        """The request body as sent (built before sending, so a failure here sent nothing)."""
        body: dict[str, Any] = {"appId": creds.app_id, "merchantId": creds.merchant_id, **fields}
        body["sign"] = sign(body, creds.secret)
        return encode_json(body)

    def _exchange(
        self, creds: BeilyPayCredentials, path: str, content: bytes, *, write: bool, signed_fields: Sequence[str]
    ) -> dict[str, Any]:
        """Send one signed request; the verified `data` of a successful answer, or a ProviderError."""
        with exchanging(PROVIDER, path):
            response = send(self._http, PROVIDER, "POST", self._base_url + path, content=content)
            return _answer(creds, path, response, write=write, signed_fields=signed_fields)


def _answer(
    creds: BeilyPayCredentials, path: str, response: httpx.Response, *, write: bool, signed_fields: Sequence[str]
) -> dict[str, Any]:
    answer = json_object(response, PROVIDER)
    try:
        code = int_from_wire(answer.get("code"))
    except ValueError as exc:
        raise ProviderProtocolError(PROVIDER, f"{path}: HTTP {response.status_code} without an integer code") from exc
    if code != SUCCESS_CODE:
        raise ProviderRejectedError(
            PROVIDER,
            code,
            str(answer.get("msg") or ""),
            beilypay_reason(code),
            outcome_unknown=write and is_indeterminate(PROVIDER, code),
        )
    if response.status_code != 200:
        raise ProviderProtocolError(PROVIDER, f"{path}: HTTP {response.status_code} claiming success")
    data = answer.get("data")
    if not isinstance(data, dict):
        raise ProviderProtocolError(PROVIDER, f"{path}: success without a data object")
    if data.get("sign") in (None, ""):
        if path not in _UNSIGNED_ANSWERS:
            raise ProviderProtocolError(PROVIDER, f"{path}: data.sign is missing")
    elif not verify_signature(data, creds.secret, fallback_fields=signed_fields):
        raise ProviderProtocolError(PROVIDER, f"{path}: data.sign does not verify")
    return data


def _parse[M: BaseModel](model: type[M], data: Mapping[str, Any], path: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProviderProtocolError(PROVIDER, f"{path}: {describe_validation_error(exc)}") from exc


def _payout_state(vo: _TransVO, path: str) -> PayoutState:
    if vo.status not in PAYOUT_STATUSES or vo.pay_amount < 0 or not vo.order_no:
        raise ProviderProtocolError(PROVIDER, f"{path}: unknown status {vo.status}, bad amount or no orderNo")
    return PayoutState(
        order_no=vo.order_no,
        out_order_no=vo.out_order_no,
        amount=vo.pay_amount,
        status=vo.status,
        trans_time=vo.trans_time,
    )


# -- notifies ------------------------------------------------------------------------------------


def _verified_notify[M: BaseModel](
    payload: Mapping[str, Any], creds: BeilyPayCredentials, model: type[M], fields: Sequence[str]
) -> M:
    if not isinstance(payload, Mapping):
        raise WebhookVerificationError("notify body is not a JSON object")
    if not verify_signature(payload, creds.secret, fallback_fields=fields):
        raise WebhookVerificationError("notify sign missing or wrong", code="signature_mismatch")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise WebhookVerificationError(f"notify malformed: {describe_validation_error(exc)}") from exc


def named_order(payload: Mapping[str, Any]) -> str | None:
    """The out_order_no a notify names, read without verifying anything.

    Only for telling an order's history that a notify it refused was about that order.
    """
    number = payload.get("outOrderNo") if isinstance(payload, Mapping) else None
    return number if isinstance(number, str) and 0 < len(number) <= 64 else None  # a lookup key, not a value


def verify_payout_notify(payload: Mapping[str, Any], creds: BeilyPayCredentials) -> PayoutNotify:
    """Verify and parse a payout notify (raises WebhookVerificationError). Answer it with `SUCC`."""
    wire = _verified_notify(payload, creds, _PayoutNotifyWire, PAYOUT_NOTIFY_FIELDS)
    if wire.app_id != creds.app_id or wire.merchant_id != creds.merchant_id:
        raise WebhookVerificationError("notify is for another app or merchant", code="app_mismatch")
    if wire.status not in PAYOUT_STATUSES or wire.pay_amount < 0:
        raise WebhookVerificationError("notify has an unknown status or a negative amount", code="unknown_status")
    return PayoutNotify(
        order_no=wire.order_no,
        out_order_no=wire.out_order_no,
        amount=wire.pay_amount,
        status=wire.status,
        app_id=wire.app_id,
        merchant_id=wire.merchant_id,
        pay_time=wire.pay_time,
    )


def verify_collection_notify(payload: Mapping[str, Any], creds: BeilyPayCredentials) -> CollectionNotify:
    """Verify and parse a collection notify (raises WebhookVerificationError). Answer it with `SUCC`."""
    wire = _verified_notify(payload, creds, _CollectionNotifyWire, COLLECTION_NOTIFY_FIELDS)
    if (wire.app_id is not None and wire.app_id != creds.app_id) or (
        wire.merchant_id is not None and wire.merchant_id != creds.merchant_id
    ):
        raise WebhookVerificationError("notify is for another app or merchant", code="app_mismatch")
    if wire.status not in COLLECTION_STATUSES or wire.paid < 0:
        raise WebhookVerificationError("notify has an unknown status or a negative amount", code="unknown_status")
    return CollectionNotify(
        order_no=wire.order_no,
        out_order_no=wire.out_order_no,
        paid=wire.paid,
        status=wire.status,
        pay_time=wire.pay_time,
    )
