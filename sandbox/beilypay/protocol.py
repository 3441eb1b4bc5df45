"""BeilyPay wire conventions: the envelope, error codes, field coercion and time formats."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from enum import IntEnum
from typing import Any
from urllib.parse import urlsplit

from starlette.responses import Response

SUCCESS_CODE = 200
SUCCESS_MSG = "SUCC"
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

# BeilyPay is an Indian service; its timestamps carry no zone, the emulator writes IST.
IST = timezone(timedelta(hours=5, minutes=30), "IST")


class ErrorCode(IntEnum):
    """BeilyPay's system error codes (protocols §2.5) (only those the emulator can produce are used)."""

    MERCHANT_NOT_EXIST = 10001
    APP_NOT_EXIST = 10002
    ORDER_NOT_EXIST = 10003
    SIGN_ERROR = 10004
    BALANCE_NOT_ENOUGH = 10005
    TOO_FREQUENT = 10006
    ACCOUNT_SETTING_ERROR = 10007
    TRANSACTION_FAIL = 10008
    ORDER_FINISHED = 10009
    ORDER_EXPIRED = 10010
    ACCOUNT_TYPE_NOT_SUPPORTED = 10011
    PAY_TOOL_ERROR = 10012
    PARAM_ERROR = 10013
    UNKNOWN_ERROR = 20001


DEFAULT_MESSAGES: dict[int, str] = {
    ErrorCode.MERCHANT_NOT_EXIST: "merchantId not exist",
    ErrorCode.APP_NOT_EXIST: "appId not exist",
    ErrorCode.ORDER_NOT_EXIST: "orderNo not exist",
    ErrorCode.SIGN_ERROR: "sign check error",
    ErrorCode.BALANCE_NOT_ENOUGH: "account balance not enough",
    ErrorCode.TOO_FREQUENT: "your requests are too frequent",
    ErrorCode.ACCOUNT_SETTING_ERROR: "your account setting error",
    ErrorCode.TRANSACTION_FAIL: "transaction fail",
    ErrorCode.ORDER_FINISHED: "order finished",
    ErrorCode.ORDER_EXPIRED: "order expire",
    ErrorCode.ACCOUNT_TYPE_NOT_SUPPORTED: "trans account type not support",
    ErrorCode.PAY_TOOL_ERROR: "pay tool error",
    ErrorCode.PARAM_ERROR: "param error",
    ErrorCode.UNKNOWN_ERROR: "unknow error",
    500: "服务异常，请重试",
}


class BeilyPayError(Exception):
    """A business error, answered as HTTP 200 with ``{code, msg, data: null}``."""

    def __init__(self, code: int, msg: str | None = None) -> None:
        super().__init__(msg or DEFAULT_MESSAGES.get(code, "error"))
        self.code = int(code)
        self.msg = msg or DEFAULT_MESSAGES.get(code, "error")


def param_error(detail: str) -> BeilyPayError:
    """10013 with the detail in ``msg``, as BeilyPay's documentation says ("具体见真实错误返回")."""
    return BeilyPayError(ErrorCode.PARAM_ERROR, f"param error: {detail}")


# --- JSON ----------------------------------------------------------------------------------------

_DECIMAL_TOKEN = re.compile(r'"\\u0000decimal:([0-9.+-]+)"')


def dumps(payload: Any) -> bytes:
    """Compact JSON where Decimal values are written as exact number literals (e.g. ``99.90``)."""

    def encode_decimal(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"\x00decimal:{value}"
        raise TypeError(f"not JSON serializable: {type(value).__name__}")

    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=encode_decimal)
    return _DECIMAL_TOKEN.sub(lambda match: match.group(1), text).encode("utf-8")


class JsonResponse(Response):
    """``application/json`` response rendered with :func:`dumps`."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def envelope_ok(data: dict[str, Any]) -> JsonResponse:
    """The success envelope."""
    return JsonResponse({"code": SUCCESS_CODE, "msg": SUCCESS_MSG, "data": data})


def envelope_error(error: BeilyPayError) -> JsonResponse:
    """Business errors are still HTTP 200: the Java and PHP clients fail on 4xx/5xx."""
    return JsonResponse({"code": error.code, "msg": error.msg, "data": None})


def paise_to_inr(paise: int) -> Decimal:
    """Balance as INR with two decimals, exactly (``settlementAmount``)."""
    return (Decimal(paise) / 100).quantize(Decimal("0.01"))


# --- field coercion ------------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]+")


def integer_field(
    body: dict[str, Any], name: str, *, minimum: int = 1, maximum: int = INT32_MAX, required: bool = True
) -> int | None:
    """A JSON number or numeric string (clients send both) within [minimum, maximum]."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise param_error(f"{name} is required")
        return None
    if isinstance(value, bool):
        raise param_error(f"{name} must be an integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise param_error(f"{name} must be an integer")
    if not minimum <= number <= maximum:
        raise param_error(f"{name} must be between {minimum} and {maximum}")
    return number


def text_field(body: dict[str, Any], name: str, *, max_length: int = 128, required: bool = True) -> str | None:
    """A non-blank string (numbers are accepted and read as their decimal text)."""
    value = body.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise param_error(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise param_error(f"{name} must be a string")
    if len(value) > max_length:
        raise param_error(f"{name} is longer than {max_length} characters")
    return value


def required_integer(body: dict[str, Any], name: str, *, minimum: int = 1, maximum: int = INT32_MAX) -> int:
    """:func:`integer_field` for a field that must be present."""
    value = integer_field(body, name, minimum=minimum, maximum=maximum)
    if value is None:
        raise param_error(f"{name} is required")
    return value


def required_text(body: dict[str, Any], name: str, *, max_length: int = 128) -> str:
    """:func:`text_field` for a field that must be present."""
    value = text_field(body, name, max_length=max_length)
    if value is None:
        raise param_error(f"{name} is required")
    return value


def url_field(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    """An absolute http(s) URL."""
    value = text_field(body, name, max_length=512, required=required)
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise param_error(f"{name} must be an http(s) URL")
    return value.strip()


def mobile_field(body: dict[str, Any]) -> str | None:
    """Indian mobile: exactly 10 digits, string or number; may be absent (SDKs omit it)."""
    value = text_field(body, "mobile", max_length=32, required=False)
    if value is not None and not re.fullmatch(r"[0-9]{10}", value.strip()):
        raise param_error("mobile must be 10 digits")
    return value


def email_field(body: dict[str, Any]) -> str | None:
    """Optional; when present it must at least look like an address."""
    value = text_field(body, "email", max_length=128, required=False)
    if value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+", value.strip()):
        raise param_error("email is not an email address")
    return value


# --- time ----------------------------------------------------------------------------------------


def now_ist() -> datetime:
    """Current wall-clock time in IST, second precision."""
    return datetime.now(IST).replace(microsecond=0, tzinfo=None)


def format_trans_time(moment: datetime) -> str:
    """``transTime``: ``yyyy-MM-dd HH:mm:ss`` as documented."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def format_pay_time(moment: datetime) -> str:
    """``payTime`` exactly as Java's ``LocalDateTime.toString()`` prints it (no ``:ss`` when 0).

    The Java SDK re-renders payTime that way before verifying; emitting the same text makes the
    Java, Go and PHP verifiers agree (protocols §2.4).
    """
    text = moment.strftime("%Y-%m-%dT%H:%M")
    return text if moment.second == 0 else f"{text}:{moment.second:02d}"
