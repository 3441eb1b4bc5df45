"""The providers' field rules, defined once.

The adapters check a request with these functions before building it, and the API models apply
the very same functions (and constants), so whatever an adapter would refuse the API already
answers with a 422: a request the API accepted can always be built, signed and sent. The API
may be stricter (an IFSC pattern, a length cap); it is never looser.

Every check takes the value and returns it unchanged, or raises ValueError with a message that
names the rule but never echoes the value (it may be personal data).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

# Both providers' amounts are Java ints: positive and within int32.
INT32_MAX = 2_147_483_647

# -- BeeCloud -------------------------------------------------------------------------------------

MAX_FEE = INT32_MAX  # total_fee / refund_fee, in fen
BILL_NO = r"[0-9A-Za-z]{8,32}"  # a bill_no paygate creates
BILL_NO_REFERENCE = r"[0-9A-Za-z]{1,32}"  # any bill_no a refund or a query may name
REFUND_NO = r"[0-9]{8}[0-9A-Za-z]{3,24}"  # yyyyMMdd + serial
TITLE_MAX_GBK_BYTES = 32
MAX_OPTIONAL_BYTES = 2048
MAX_URL_LENGTH = 1024
MAX_OPENID_LENGTH = 128

# Every channel paygate takes bills on. The API's Channel enum and the adapter's expected answers
# must list exactly these (checked at import), and the sandbox must serve them (checked by a
# test), so a channel is added here first.
BILL_CHANNELS: frozenset[str] = frozenset(
    {"WX_APP", "WX_NATIVE", "WX_JSAPI", "ALI_APP", "ALI_WEB", "ALI_WAP", "ALI_QRCODE", "UN_APP", "UN_WEB"}
)
# ALI_WAP (Alipay mobile web) does not need return_url: Alipay's mobile cashier has its own page.
RETURN_URL_REQUIRED: frozenset[str] = frozenset({"ALI_WEB", "ALI_QRCODE", "UN_WEB"})
QR_PAY_MODES: frozenset[str] = frozenset({"0", "1", "3"})
# Channel-specific fields and the only channels they apply to.
CHANNEL_ONLY: dict[str, frozenset[str]] = {
    "openid": frozenset({"WX_JSAPI"}),
    "show_url": frozenset({"ALI_WEB"}),
    "qr_pay_mode": frozenset({"ALI_QRCODE"}),
    "use_app": frozenset({"ALI_WAP"}),
}

_BILL_NO = re.compile(BILL_NO)
_BILL_NO_REFERENCE = re.compile(BILL_NO_REFERENCE)
_REFUND_NO = re.compile(REFUND_NO)
_URL = re.compile(r"https?://[^\s/$.?#][^\s]*", re.IGNORECASE)

# -- BeilyPay -------------------------------------------------------------------------------------

MAX_AMOUNT = INT32_MAX  # payAmount, in paise


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_utf8(value: str) -> str:
    """Both providers take UTF-8 JSON (and BeilyPay signs UTF-8): a lone surrogate cannot be sent."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


def _check_positive_int(value: Any, maximum: int, unit: str) -> int:
    if not _is_int(value) or not 0 < value <= maximum:
        raise ValueError(f"must be a positive integer number of {unit}, at most {maximum}")
    return int(value)


def check_fee(value: int) -> int:
    """BeeCloud total_fee / refund_fee: 1 … 2147483647 fen, a real int (never bool or float)."""
    return _check_positive_int(value, MAX_FEE, "fen")


def check_amount(value: int) -> int:
    """BeilyPay payAmount: 1 … 2147483647 paise, a real int (never bool or float)."""
    return _check_positive_int(value, MAX_AMOUNT, "paise")


def check_bill_no(value: str) -> str:
    """A bill_no paygate sends to create a bill: 8-32 ASCII letters or digits."""
    if not isinstance(value, str) or not _BILL_NO.fullmatch(value):
        raise ValueError("bill_no must be 8-32 ASCII letters or digits")
    return value


def check_bill_no_reference(value: str) -> str:
    """A bill_no a refund refers to: 1-32 ASCII letters or digits."""
    if not isinstance(value, str) or not _BILL_NO_REFERENCE.fullmatch(value):
        raise ValueError("bill_no must be 1-32 ASCII letters or digits")
    return value


def title_length(title: str) -> int:
    """The title's length as BeeCloud counts it: GBK bytes (a CJK character is 2)."""
    return len(title.encode("gbk"))


def check_title(value: str) -> str:
    """Not blank (ASCII or ideographic spaces alone are blank), GBK-encodable, at most 32 GBK bytes."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("title must not be empty or only whitespace")
    try:
        too_long = title_length(value) > TITLE_MAX_GBK_BYTES
    except UnicodeEncodeError:
        raise ValueError("title must use characters BeeCloud can encode (GBK)") from None
    if too_long:
        raise ValueError("title must be at most 32 bytes in GBK (16 Chinese characters)")
    return value


def refund_no_date(refund_no: str) -> date | None:
    """The yyyyMMdd date a refund_no starts with, or None if it is not a valid BeeCloud refund_no."""
    if not isinstance(refund_no, str) or not _REFUND_NO.fullmatch(refund_no) or refund_no[8:] == "000":
        return None
    try:
        return date(int(refund_no[0:4]), int(refund_no[4:6]), int(refund_no[6:8]))
    except ValueError:
        return None


def check_refund_no(value: str) -> str:
    """yyyyMMdd (a real date) + 3-24 letters or digits, the serial not '000'."""
    if refund_no_date(value) is None:
        raise ValueError("refund_no must be yyyyMMdd (a real date) + 3-24 letters or digits, serial not '000'")
    return value


def check_optional(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """`optional` is sent as JSON: finite numbers, valid Unicode, at most 2048 bytes as UTF-8."""
    if value is None:
        return None
    try:
        encoded = json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError):
        raise ValueError("optional must be a JSON object of finite numbers and valid Unicode text") from None
    if len(encoded) > MAX_OPTIONAL_BYTES:
        raise ValueError(f"optional must serialise to at most {MAX_OPTIONAL_BYTES} bytes")
    return value


def check_url(value: str) -> str:
    """return_url / show_url: an http(s) URL without whitespace, at most 1024 characters."""
    if not isinstance(value, str) or len(value) > MAX_URL_LENGTH or not _URL.fullmatch(value):
        raise ValueError(f"must be an http(s) URL of at most {MAX_URL_LENGTH} characters")
    return check_utf8(value)


def check_openid(value: str) -> str:
    """WX_JSAPI openid: not blank, at most 128 characters."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_OPENID_LENGTH:
        raise ValueError(f"openid must be 1-{MAX_OPENID_LENGTH} characters, not only whitespace")
    return check_utf8(value)


def _check_extra_values(fields: Mapping[str, str | bool]) -> None:
    """Each given channel-specific field's own rule: URLs, openid, qr_pay_mode, use_app."""
    if any(not isinstance(value, str) for name, value in fields.items() if name != "use_app"):
        raise ValueError("return_url, openid, show_url and qr_pay_mode must be strings")
    if not isinstance(fields.get("use_app", False), bool):
        raise ValueError("use_app must be true or false")
    for name in ("return_url", "show_url"):
        if name in fields:
            try:
                check_url(str(fields[name]))
            except ValueError as exc:
                raise ValueError(f"{name} {exc}") from None
    if "openid" in fields:
        check_openid(str(fields["openid"]))
    if fields.get("qr_pay_mode", "0") not in QR_PAY_MODES:
        raise ValueError("qr_pay_mode must be '0', '1' or '3'")


def check_channel_extras(
    channel: str,
    *,
    return_url: str | None,
    openid: str | None,
    show_url: str | None,
    qr_pay_mode: str | None,
    use_app: bool | None = None,
) -> dict[str, str | bool]:
    """The channel-specific fields that are given (None = not given), checked against the channel.

    ``use_app`` (ALI_WAP) is a JSON boolean: true opens the Alipay app when the phone has it.
    """
    given: dict[str, str | bool | None] = {
        "return_url": return_url,
        "openid": openid,
        "show_url": show_url,
        "qr_pay_mode": qr_pay_mode,
        "use_app": use_app,
    }
    fields = {name: value for name, value in given.items() if value is not None}
    for name, channels in CHANNEL_ONLY.items():
        if name in fields and channel not in channels:
            raise ValueError(f"{name} only applies to channel {sorted(channels)}")
    if channel in RETURN_URL_REQUIRED and "return_url" not in fields:
        raise ValueError(f"return_url is required for {channel}")
    if channel == "WX_JSAPI" and "openid" not in fields:
        raise ValueError("openid is required for WX_JSAPI")
    _check_extra_values(fields)
    return fields


def check_text(value: str) -> str:
    """A BeilyPay string: non-empty, nothing to trim at either end, valid Unicode.

    BeilyPay's Java verifier trims values (anything up to U+0020) before signing, so a value it
    would trim breaks the signature; Python's notion of whitespace is refused as well.
    """
    if not isinstance(value, str) or not value or value != value.strip() or min(value[0], value[-1]) <= " ":
        raise ValueError("must be a non-empty string without surrounding whitespace")
    return check_utf8(value)
