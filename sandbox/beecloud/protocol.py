"""BeeCloud v1 wire constants: result codes, channels and the always-200 JSON envelope."""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Any

from starlette.responses import JSONResponse


class ResultCode(IntEnum):
    """BeeCloud's v1 ``result_code`` table (protocols §1.4) (v1 only: codes 15-17 came with v2)."""

    OK = 0
    APP_INVALID = 1
    PAY_FACTOR_NOT_SET = 2
    CHANNEL_INVALID = 3
    MISS_PARAM = 4
    PARAM_INVALID = 5
    CERT_FILE_ERROR = 6
    CHANNEL_ERROR = 7
    NO_SUCH_BILL = 8
    BILL_UNSUCCESS = 9
    REFUND_EXCEED_TIME = 10
    ALREADY_REFUNDING = 11
    REFUND_AMOUNT_TOO_LARGE = 12
    NO_SUCH_REFUND = 13
    RUN_TIME_ERROR = 14


# The v1 table's spellings, exactly (14 is "RUN_TIME_ERROR" in v1; later docs say RUNTIME_ERROR).
RESULT_MSG: dict[ResultCode, str] = {code: code.name for code in ResultCode}

PAY_CHANNELS: tuple[str, ...] = (
    "WX_APP",
    "WX_NATIVE",
    "WX_JSAPI",
    "ALI_APP",
    "ALI_WEB",
    "ALI_WAP",  # Alipay mobile web, since July 2015
    "ALI_QRCODE",
    "UN_APP",
    "UN_WEB",
)
PARENT_CHANNELS: tuple[str, ...] = ("WX", "ALI", "UN")
QUERY_CHANNELS: tuple[str, ...] = PARENT_CHANNELS + PAY_CHANNELS
RETURN_URL_CHANNELS: frozenset[str] = frozenset({"ALI_WEB", "ALI_QRCODE", "UN_WEB"})
ALI_PAY_CHANNELS: frozenset[str] = frozenset({"ALI_APP", "ALI_WEB", "ALI_WAP", "ALI_QRCODE"})
QR_PAY_MODES: tuple[str, ...] = ("0", "1", "3")

# "Well-formed" channel name: QA answers 3 for such a name that the endpoint does not serve
# (e.g. "WX" on /bill, "ALI_OFFLINE_QRCODE") and 5 for garbage, lowercase or padded strings.
WELL_FORMED_CHANNEL = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")


def parent_channel(channel: str) -> str:
    """``WX_NATIVE`` -> ``WX``: the webhook's ``channel_type`` and the refund's channel."""
    return channel.split("_", 1)[0]


class BeeCloudError(Exception):
    """A business error answered as HTTP 200 with a non-zero ``result_code``."""

    def __init__(self, code: ResultCode, detail: str = "") -> None:
        super().__init__(f"{code.name}: {detail}")
        self.code = code
        self.detail = detail


def envelope(code: ResultCode = ResultCode.OK, detail: str = "", **fields: Any) -> dict[str, Any]:
    """The common response map; ``err_detail`` is always a string (Java SDKs dereference it)."""
    return {"result_code": int(code), "result_msg": RESULT_MSG[code], "err_detail": detail, **fields}


def json_response(body: dict[str, Any]) -> JSONResponse:
    """Always HTTP 200 and ``application/json``: the v1 SDKs treat any other status as a failure."""
    return JSONResponse(body, status_code=200, media_type="application/json")


def error_response(error: BeeCloudError) -> JSONResponse:
    """Envelope for a raised :class:`BeeCloudError`."""
    return json_response(envelope(error.code, error.detail))
