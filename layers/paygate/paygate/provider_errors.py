"""Provider failures -> API errors: mapped by reason, never leaking the provider's raw text."""

from __future__ import annotations

from paygate.errors import (
    ConflictError,
    GatewayTimeoutError,
    InvalidRequestError,
    PaygateError,
    ProviderFailedError,
)
from paygate.providers.errors import (
    ProviderError,
    ProviderRejectedError,
    ProviderRequestError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RejectReason,
)


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
