"""Typed provider failures: what went wrong upstream, and whether the money may have moved.

`outcome_unknown` is the one bit the domain must act on: when True, the request may have
been executed by the provider and the order has to stay pending until a query or a callback
settles it; when False, nothing happened upstream and the operation may be retried or failed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

ProviderName = Literal["beecloud", "beilypay"]


class RejectReason(StrEnum):
    """Why a provider refused a request, independent of the provider's own numbering."""

    INVALID_REQUEST = "invalid_request"
    AUTH = "auth"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    RATE_LIMITED = "rate_limited"
    NOT_REFUNDABLE = "not_refundable"
    ALREADY_FINAL = "already_final"
    PROVIDER_INTERNAL = "provider_internal"
    CHANNEL_ERROR = "channel_error"


# BeeCloud `result_code` (protocols §1.4, plus the later v1/v2 codes 15-17). Keyed by number only:
# 14 is spelled RUN_TIME_ERROR in v1 and RUNTIME_ERROR later, and the text never matters.
BEECLOUD_REASONS: dict[int, RejectReason] = {
    1: RejectReason.AUTH,  # APP_INVALID: unknown app_id, bad app_sign or stale timestamp
    2: RejectReason.AUTH,  # PAY_FACTOR_NOT_SET: the provider account is not set up for the channel
    3: RejectReason.INVALID_REQUEST,  # CHANNEL_INVALID
    4: RejectReason.INVALID_REQUEST,  # MISS_PARAM
    5: RejectReason.INVALID_REQUEST,  # PARAM_INVALID
    6: RejectReason.AUTH,  # CERT_FILE_ERROR: the channel certificate configured at BeeCloud
    7: RejectReason.CHANNEL_ERROR,  # CHANNEL_ERROR: WeChat/Alipay/UnionPay refused
    8: RejectReason.NOT_FOUND,  # NO_SUCH_BILL
    9: RejectReason.NOT_REFUNDABLE,  # BILL_UNSUCCESS: the bill was never paid
    10: RejectReason.NOT_REFUNDABLE,  # REFUND_EXCEED_TIME
    11: RejectReason.CONFLICT,  # ALREADY_REFUNDING
    12: RejectReason.NOT_REFUNDABLE,  # REFUND_AMOUNT_TOO_LARGE
    13: RejectReason.NOT_FOUND,  # NO_SUCH_REFUND
    14: RejectReason.PROVIDER_INTERNAL,  # RUN_TIME_ERROR / RUNTIME_ERROR
    15: RejectReason.PROVIDER_INTERNAL,  # NETWORK_ERROR (v2 docs)
    16: RejectReason.CONFLICT,  # PREREFUND_DUPLICATE (v2)
    17: RejectReason.CONFLICT,  # BILL_NO_DUPLICATE (v2)
}

# Codes after which a write (bill, refund) may or may not have been executed upstream.
BEECLOUD_INDETERMINATE: frozenset[int] = frozenset({14, 15})

# BeilyPay `code` (the documented "系统错误码", protocols §2.5, plus 500, the Java SDK's generic `Response.error()`).
BEILYPAY_REASONS: dict[int, RejectReason] = {
    10001: RejectReason.AUTH,  # merchantId not exist
    10002: RejectReason.AUTH,  # appId not exist
    10003: RejectReason.NOT_FOUND,  # orderNo not exist
    10004: RejectReason.AUTH,  # sign check error: wrong secret on our side
    10005: RejectReason.INSUFFICIENT_FUNDS,  # payout account balance not enough
    10006: RejectReason.RATE_LIMITED,  # requests too frequent
    10007: RejectReason.AUTH,  # merchant account setting error, contact the platform
    10008: RejectReason.PROVIDER_INTERNAL,  # transaction creation failed, contact the platform
    10009: RejectReason.ALREADY_FINAL,  # order finished
    10010: RejectReason.ALREADY_FINAL,  # order expired
    10011: RejectReason.INVALID_REQUEST,  # account type not supported
    10012: RejectReason.CHANNEL_ERROR,  # pay tool error: the bank refused
    10013: RejectReason.INVALID_REQUEST,  # param error
    20001: RejectReason.PROVIDER_INTERNAL,  # unknown error
    500: RejectReason.PROVIDER_INTERNAL,  # generic service error, "please retry"
}

BEILYPAY_INDETERMINATE: frozenset[int] = frozenset({20001, 500})


def beecloud_reason(code: int) -> RejectReason:
    """The reason for a BeeCloud result_code; unknown codes count as provider-internal."""
    return BEECLOUD_REASONS.get(code, RejectReason.PROVIDER_INTERNAL)


def beilypay_reason(code: int) -> RejectReason:
    """The reason for a BeilyPay code; unknown codes count as provider-internal."""
    return BEILYPAY_REASONS.get(code, RejectReason.PROVIDER_INTERNAL)


def is_indeterminate(provider: ProviderName, code: int) -> bool:
    """True if a write answered with `code` may nevertheless have been executed upstream."""
    if provider == "beecloud":
        return code in BEECLOUD_INDETERMINATE or code not in BEECLOUD_REASONS
    return code in BEILYPAY_INDETERMINATE or code not in BEILYPAY_REASONS


class ProviderError(Exception):
    """Base of every provider failure. Never carries secrets or personal data."""

    outcome_unknown: bool = True

    def __init__(self, provider: ProviderName, detail: str, *, outcome_unknown: bool | None = None) -> None:
        super().__init__(f"{provider}: {detail}")
        self.provider: ProviderName = provider
        self.detail = detail
        if outcome_unknown is not None:
            self.outcome_unknown = outcome_unknown


class ProviderUnavailableError(ProviderError):
    """The request never reached the provider (connect refused/timed out): safe to retry."""

    outcome_unknown = False


class ProviderTimeoutError(ProviderError):
    """The request was sent but no answer came in time: the provider may have executed it."""

    outcome_unknown = True


class ProviderProtocolError(ProviderError):
    """HTTP 5xx, a broken connection after sending, or an answer paygate cannot trust or parse."""

    outcome_unknown = True


class ProviderRequestError(ProviderError, ValueError):
    """The request was never sent: its input breaks a provider rule (`unexpected` False), or
    building it failed in a way paygate did not foresee (`unexpected` True, a bug).

    A ValueError too, so callers that validate input catch it as one.
    """

    outcome_unknown = False

    def __init__(
        self, provider: ProviderName, detail: str, *, rule: str | None = None, unexpected: bool = False
    ) -> None:
        super().__init__(provider, detail, outcome_unknown=False)
        self.rule = rule or detail  # the broken rule alone, fit for an API answer (never the value)
        self.unexpected = unexpected


class ProviderRejectedError(ProviderError):
    """The provider answered with a business error code.

    `outcome_unknown` is False, except for the indeterminate codes (BeeCloud 14/15 and
    unknown codes, BeilyPay 20001/500 and unknown codes) on writes: there the provider
    admits it does not know what happened, so neither does paygate.
    """

    outcome_unknown = False

    def __init__(
        self,
        provider: ProviderName,
        code: int,
        message: str,
        reason: RejectReason | None = None,
        *,
        outcome_unknown: bool = False,
    ) -> None:
        if reason is None:
            reason = beecloud_reason(code) if provider == "beecloud" else beilypay_reason(code)
        super().__init__(provider, f"rejected with code {code} ({reason}): {message}", outcome_unknown=outcome_unknown)
        self.code = code
        self.message = message
        self.reason = reason


class WebhookVerificationError(Exception):
    """A callback whose signature is missing or wrong, or whose body is malformed."""
