"""Every error paygate raises, in one place.

Three parts: the errors the API answers with (each a stable machine code and an HTTP status,
turned into one JSON shape by the API layer); the provider failures the adapters raise (what went
wrong upstream, and whether the money may have moved); and the one mapping from the second to the
first, by reason, never leaking a provider's raw text.

`outcome_unknown` on a provider failure is the one bit the domain must act on: when True, the
request may have been executed by the provider and the order has to stay pending until a query or
a callback settles it; when False, nothing happened upstream and the operation may be retried or
failed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

# ---------------------------------------------------------------- errors the API answers with


class PaygateError(Exception):
    """Base: a stable machine code, an HTTP status, a human message, optional details."""

    status: int = 400
    code: str = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidRequestError(PaygateError):
    status = 422
    code = "invalid_request"


class UnauthorizedError(PaygateError):
    status = 401
    code = "unauthorized"


class ForbiddenError(PaygateError):
    status = 403
    code = "forbidden"


class NotFoundError(PaygateError):
    status = 404
    code = "not_found"


class ConflictError(PaygateError):
    status = 409
    code = "conflict"


class ProviderFailedError(PaygateError):
    """The provider refused or broke; the caller's input was fine."""

    status = 502
    code = "provider_error"


class GatewayTimeoutError(PaygateError):
    """504: the provider did not answer in time; the order stays pending for reconciliation.

    (The adapter raises `ProviderTimeoutError`, below; this is its API answer.)"""

    status = 504
    code = "provider_timeout"


class ServiceUnavailableError(PaygateError):
    status = 503
    code = "service_unavailable"


class ProviderRateLimitedError(PaygateError):
    status = 429
    code = "provider_rate_limited"


class ProviderBalanceError(PaygateError):
    status = 409
    code = "insufficient_provider_balance"


class RequestNotSentError(PaygateError):
    """Building the provider request failed unexpectedly: a paygate bug, and nothing was sent."""

    status = 500
    code = "provider_request_not_sent"


# ---------------------------------------------------------------- provider failures

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
    """A callback whose signature is missing or wrong, or whose body is malformed.

    `code` says which, in a word an order's history can keep: signature_mismatch, app_mismatch,
    unknown_status or malformed.
    """

    def __init__(self, message: str, *, code: str = "malformed") -> None:
        super().__init__(message)
        self.code = code


class CallbackRejectedError(Exception):
    """Forged or mismatched: answered without the provider's ack word, logged as a security event.

    `reason` is for the log; `code` (e.g. amount_mismatch, unknown_order) for the order's history.
    """

    def __init__(self, reason: str, *, code: str = "refused") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


# ---------------------------------------------------------------- provider failures -> API errors


# The adapter refused to build the request (nothing was sent). The API models apply the
# adapters' own field rules, so the first is not expected to happen; the second is a bug.
REQUEST_INVALID = "provider_request_invalid"
REQUEST_NOT_SENT = RequestNotSentError.code
_NOT_SENT: dict[str, type[PaygateError]] = {REQUEST_INVALID: InvalidRequestError, REQUEST_NOT_SENT: RequestNotSentError}


_REJECTIONS: dict[RejectReason, tuple[type[PaygateError], str, str]] = {
    RejectReason.INVALID_REQUEST: (
        ProviderFailedError,
        "provider_rejected_request",
        "the provider rejected the request",
    ),
    RejectReason.AUTH: (
        ProviderFailedError,
        "provider_auth_failed",
        "the provider refused this app's credentials",
    ),
    RejectReason.NOT_FOUND: (
        ConflictError,
        "provider_order_not_found",
        "the provider does not know this order",
    ),
    RejectReason.CONFLICT: (
        ConflictError,
        "provider_conflict",
        "the provider has a conflicting operation in progress",
    ),
    RejectReason.INSUFFICIENT_FUNDS: (
        ProviderBalanceError,
        "insufficient_provider_balance",
        "the merchant's provider balance is too low",
    ),
    RejectReason.RATE_LIMITED: (
        ProviderRateLimitedError,
        "provider_rate_limited",
        "the provider is rate limiting this app; retry later",
    ),
    RejectReason.NOT_REFUNDABLE: (
        ConflictError,
        "not_refundable",
        "the provider refuses to refund this bill",
    ),
    RejectReason.ALREADY_FINAL: (
        ConflictError,
        "provider_order_final",
        "the order is already final at the provider",
    ),
    RejectReason.PROVIDER_INTERNAL: (ProviderFailedError, "provider_error", "the provider failed"),
    RejectReason.CHANNEL_ERROR: (
        ProviderFailedError,
        "channel_error",
        "the payment channel (WeChat/Alipay/UnionPay/bank) refused",
    ),
}


def failure_code(error: ProviderError) -> str:
    """The stable code recorded on a failed order."""
    if isinstance(error, ProviderRequestError):
        return REQUEST_NOT_SENT if error.unexpected else REQUEST_INVALID
    if isinstance(error, ProviderRejectedError):
        return _REJECTIONS[error.reason][1]
    if isinstance(error, ProviderTimeoutError):
        return "provider_timeout"
    if isinstance(error, ProviderUnavailableError):
        return "provider_unavailable"
    return "provider_error"


def to_api_error(error: ProviderError) -> PaygateError:
    if isinstance(error, ProviderRequestError):
        if error.unexpected:
            return RequestNotSentError(
                "paygate failed to build the provider request; nothing was sent to the provider",
                details={"provider": error.provider},
            )
        # The adapter's message names the rule and never echoes the value.
        return InvalidRequestError(
            f"the provider would refuse this request ({error.rule}); nothing was sent to the provider",
            code=REQUEST_INVALID,
            details={"provider": error.provider},
        )
    if isinstance(error, ProviderRejectedError):
        cls, code, message = _REJECTIONS[error.reason]
        return cls(message, code=code, details={"provider": error.provider, "provider_code": error.code})
    if isinstance(error, ProviderTimeoutError):
        return GatewayTimeoutError(
            "the provider did not answer in time; the order stays pending until the provider confirms it",
            details={"provider": error.provider},
        )
    if isinstance(error, ProviderUnavailableError):
        return ProviderFailedError(
            "the provider could not be reached",
            code="provider_unavailable",
            details={"provider": error.provider},
        )
    return ProviderFailedError(
        "the provider answered with an error or an unreadable response", details={"provider": error.provider}
    )


def stored_failure(code: str, message: str) -> PaygateError:
    """Rebuild the error an order failed with, so a repeat gets the first request's answer."""
    if code in _NOT_SENT:
        return _NOT_SENT[code](message, code=code)
    for cls, known_code, _ in _REJECTIONS.values():
        if known_code == code:
            return cls(message, code=code)
    return ProviderFailedError(message, code=code)
