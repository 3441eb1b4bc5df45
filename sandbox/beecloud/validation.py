"""Request validation with BeeCloud QA's result codes (protocols §1.3, §1.5).

General rule: a required field that is missing, ``""`` or ``null`` -> 4 MISS_PARAM; a value of
the wrong JSON type or shape -> 5 PARAM_INVALID; a well-formed channel the endpoint does not
serve -> 3 CHANNEL_INVALID. ``bool`` is never accepted where an integer is expected.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeGuard

from sandbox.beecloud.config import UUID_SHAPE
from sandbox.beecloud.protocol import (
    PARENT_CHANNELS,
    PAY_CHANNELS,
    QR_PAY_MODES,
    QUERY_CHANNELS,
    RETURN_URL_CHANNELS,
    WELL_FORMED_CHANNEL,
    BeeCloudError,
    ResultCode,
)

Params = Mapping[str, Any]

INT32_MAX = 2**31 - 1  # total_fee and refund_fee are Java Integers
MAX_TITLE_GBK_LEN = 32
MAX_QUERY_LIMIT = 50
DEFAULT_QUERY_LIMIT = 10
_SIGN_SHAPE = re.compile(r"[0-9a-fA-F]{32}")
_REFUND_NO_SHAPE = re.compile(r"(\d{8})([0-9A-Za-z]{3,24})")


def _missing(value: Any) -> bool:
    return value is None or value == ""


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def require_str(params: Params, name: str) -> str:
    """A required string field."""
    value = params.get(name)
    if _missing(value):
        raise BeeCloudError(ResultCode.MISS_PARAM, f"{name} is required")
    if not isinstance(value, str):
        raise BeeCloudError(ResultCode.PARAM_INVALID, f"{name} must be a String")
    return value


def optional_str(params: Params, name: str) -> str | None:
    """An optional string; ``null`` and ``""`` read as absent (json-lib renders unset fields so)."""
    value = params.get(name)
    if _missing(value):
        return None
    if not isinstance(value, str):
        raise BeeCloudError(ResultCode.PARAM_INVALID, f"{name} must be a String")
    return value


def require_int(params: Params, name: str) -> int:
    """A required JSON integer (strings, floats and booleans are type errors)."""
    value = params.get(name)
    if _missing(value):
        raise BeeCloudError(ResultCode.MISS_PARAM, f"{name} is required")
    if not _is_int(value):
        raise BeeCloudError(ResultCode.PARAM_INVALID, f"{name} must be an Integer")
    return value


def optional_int(params: Params, name: str) -> int | None:
    """An optional integer filter; ``null`` and ``""`` read as absent."""
    value = params.get(name)
    if _missing(value):
        return None
    if not _is_int(value):
        raise BeeCloudError(ResultCode.PARAM_INVALID, f"{name} must be an Integer")
    return value


def positive_fee(params: Params, name: str) -> int:
    """Fen amount: a positive Java Integer."""
    fee = require_int(params, name)
    if not 0 < fee <= INT32_MAX:
        raise BeeCloudError(ResultCode.PARAM_INVALID, f"{name} must be a positive integer (fen)")
    return fee


def read_channel(params: Params, allowed: Collection[str], *, required: bool) -> str | None:
    """The ``channel`` field: 3 for a well-formed name not served here, 5 for garbage."""
    channel = require_str(params, "channel") if required else optional_str(params, "channel")
    if channel is None or channel in allowed:
        return channel
    if WELL_FORMED_CHANNEL.fullmatch(channel):
        raise BeeCloudError(ResultCode.CHANNEL_INVALID, f"channel {channel} is not supported here")
    raise BeeCloudError(ResultCode.PARAM_INVALID, f"channel {channel!r} is invalid")


def read_optional_map(params: Params) -> dict[str, Any]:
    """``optional`` must be a map; ``null`` or absent means none (``{}`` in the webhook)."""
    value = params.get("optional")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BeeCloudError(ResultCode.PARAM_INVALID, "optional must be a Map")
    return value


def gbk_length(text: str) -> int:
    """Length as GBK counts it: ASCII 1, anything else 2 (so 16 CJK characters fit in 32)."""
    return sum(1 if ord(char) < 0x80 else 2 for char in text)


@dataclass(frozen=True)
class Credentials:
    """The three fields every endpoint carries, type-checked but not yet verified."""

    app_id: str
    timestamp: int
    app_sign: str


def read_credentials(params: Params) -> Credentials:
    """app_id (UUID-shaped), timestamp (13-digit-or-less Long ms), app_sign (32 hex)."""
    app_id = require_str(params, "app_id")
    if not UUID_SHAPE.fullmatch(app_id):
        raise BeeCloudError(ResultCode.PARAM_INVALID, "app_id is not a valid app id")
    timestamp = require_int(params, "timestamp")
    if not 0 < timestamp < 10**13:
        raise BeeCloudError(ResultCode.PARAM_INVALID, "timestamp must be a millisecond Long")
    app_sign = require_str(params, "app_sign")
    if not _SIGN_SHAPE.fullmatch(app_sign):
        raise BeeCloudError(ResultCode.PARAM_INVALID, "app_sign must be 32 hexadecimal characters")
    return Credentials(app_id=app_id, timestamp=timestamp, app_sign=app_sign)


@dataclass(frozen=True)
class BillRequest:
    """A validated ``POST /1/rest/bill``."""

    channel: str
    total_fee: int
    bill_no: str
    title: str
    optional: dict[str, Any]
    return_url: str | None
    openid: str | None
    show_url: str | None
    qr_pay_mode: str
    use_app: bool = False

    def same_order(self, other: BillRequest) -> bool:
        """True when ``other`` re-submits this order unchanged (idempotent duplicate bill_no)."""
        return self == other


def _bill_no(params: Params, min_len: int) -> str:
    bill_no = require_str(params, "bill_no")
    if not (min_len <= len(bill_no) <= 32 and bill_no.isascii() and bill_no.isalnum()):
        raise BeeCloudError(ResultCode.PARAM_INVALID, f"bill_no must be {min_len}-32 letters or digits")
    return bill_no


def _qr_pay_mode(params: Params) -> str:
    value = params.get("qr_pay_mode")
    if _missing(value):
        return QR_PAY_MODES[0]
    # v1 types it String; Java v1 derives it from an enum, so a bare 0/1/3 is tolerated.
    text = str(value) if _is_int(value) else value
    if text not in QR_PAY_MODES:
        raise BeeCloudError(ResultCode.PARAM_INVALID, "qr_pay_mode must be one of 0, 1, 3")
    return str(text)


def _use_app(params: Params) -> bool:
    """ALI_WAP's optional ``use_app``: a JSON boolean (the SDKs send one), false when absent."""
    value = params.get("use_app")
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BeeCloudError(ResultCode.PARAM_INVALID, "use_app must be true or false")
    return value


def parse_bill_request(params: Params, *, min_bill_no_len: int) -> BillRequest:
    """Validate a bill, channel first (the channel decides which other fields are required)."""
    channel = read_channel(params, PAY_CHANNELS, required=True)
    assert channel is not None  # required=True never returns None
    total_fee = positive_fee(params, "total_fee")
    bill_no = _bill_no(params, min_bill_no_len)
    title = require_str(params, "title")
    if gbk_length(title) > MAX_TITLE_GBK_LEN:
        raise BeeCloudError(ResultCode.PARAM_INVALID, "title must be within 32 bytes (16 Chinese characters)")
    optional = read_optional_map(params)
    if channel in RETURN_URL_CHANNELS:
        return_url: str | None = require_str(params, "return_url")
    else:
        return_url = optional_str(params, "return_url")
    openid = require_str(params, "openid") if channel == "WX_JSAPI" else optional_str(params, "openid")
    show_url = optional_str(params, "show_url")
    qr_pay_mode = _qr_pay_mode(params) if channel == "ALI_QRCODE" else QR_PAY_MODES[0]
    use_app = _use_app(params) if channel == "ALI_WAP" else False
    return BillRequest(
        channel=channel,
        total_fee=total_fee,
        bill_no=bill_no,
        title=title,
        optional=optional,
        return_url=return_url,
        openid=openid,
        show_url=show_url,
        qr_pay_mode=qr_pay_mode,
        use_app=use_app,
    )


@dataclass(frozen=True)
class RefundRequest:
    """A validated ``POST /1/rest/refund``."""

    channel: str | None
    refund_no: str
    bill_no: str
    refund_fee: int
    optional: dict[str, Any]


def check_refund_no(refund_no: str, *, today: date, tolerance_days: int) -> None:
    """``yyyyMMdd`` of today (± tolerance) + a 3-24 alphanumeric serial that is not ``000``."""
    match = _REFUND_NO_SHAPE.fullmatch(refund_no) if refund_no.isascii() else None
    if match is None:
        raise BeeCloudError(ResultCode.PARAM_INVALID, "refund_no must be yyyyMMdd + 3-24 letters or digits")
    prefix, serial = match.groups()
    if serial == "000":
        raise BeeCloudError(ResultCode.PARAM_INVALID, "refund_no serial must not be 000")
    try:
        refund_day = datetime.strptime(prefix, "%Y%m%d").date()
    except ValueError as exc:
        raise BeeCloudError(ResultCode.PARAM_INVALID, "refund_no must start with a valid date") from exc
    if abs(refund_day - today) > timedelta(days=tolerance_days):
        raise BeeCloudError(ResultCode.PARAM_INVALID, "refund_no must start with today's date (yyyyMMdd)")


def parse_refund_request(params: Params, *, today: date, tolerance_days: int) -> RefundRequest:
    """Validate a refund; ``channel`` is optional (since Aug 2015) but must be WX, ALI or UN."""
    channel = read_channel(params, PARENT_CHANNELS, required=False)
    refund_no = require_str(params, "refund_no")
    check_refund_no(refund_no, today=today, tolerance_days=tolerance_days)
    bill_no = require_str(params, "bill_no")
    refund_fee = positive_fee(params, "refund_fee")
    return RefundRequest(
        channel=channel,
        refund_no=refund_no,
        bill_no=bill_no,
        refund_fee=refund_fee,
        optional=read_optional_map(params),
    )


@dataclass(frozen=True)
class QueryRequest:
    """Filters of ``GET /1/rest/bills`` and ``GET /1/rest/refunds`` (all ANDed)."""

    channel: str | None
    bill_no: str | None
    refund_no: str | None
    start_time: int | None
    end_time: int | None
    spay_result: bool | None
    skip: int
    limit: int


def parse_query_request(params: Params, *, with_refund_no: bool) -> QueryRequest:
    """Validate query filters: absent/``null``/``""`` = no filter; 0 <= skip; 1 <= limit <= 50."""
    channel = read_channel(params, QUERY_CHANNELS, required=False)
    skip = optional_int(params, "skip")
    limit = optional_int(params, "limit")
    if skip is not None and skip < 0:
        raise BeeCloudError(ResultCode.PARAM_INVALID, "skip must be >= 0")
    if limit is not None and not 0 < limit <= MAX_QUERY_LIMIT:
        raise BeeCloudError(ResultCode.PARAM_INVALID, f"limit must be within 1..{MAX_QUERY_LIMIT}")
    spay_result = params.get("spay_result")
    if _missing(spay_result):
        spay_result = None
    elif not isinstance(spay_result, bool):
        raise BeeCloudError(ResultCode.PARAM_INVALID, "spay_result must be a Bool")
    return QueryRequest(
        channel=channel,
        bill_no=optional_str(params, "bill_no"),
        refund_no=optional_str(params, "refund_no") if with_refund_no else None,
        start_time=optional_int(params, "start_time"),
        end_time=optional_int(params, "end_time"),
        spay_result=spay_result,
        skip=0 if skip is None else skip,
        limit=DEFAULT_QUERY_LIMIT if limit is None else limit,
    )


@dataclass(frozen=True)
class RefundStatusRequest:
    """A validated ``GET /1/rest/refund/status`` (WeChat refunds only in v1)."""

    channel: str
    refund_no: str


def parse_refund_status_request(params: Params) -> RefundStatusRequest:
    """``channel`` must be ``WX`` (ALI/UN -> 3); ``refund_no`` is required."""
    channel = read_channel(params, ("WX",), required=True)
    assert channel is not None
    return RefundStatusRequest(channel=channel, refund_no=require_str(params, "refund_no"))
