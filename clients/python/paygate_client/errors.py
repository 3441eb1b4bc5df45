"""Typed errors: one class per kind of failure, each carrying the API's stable error `code`."""

from __future__ import annotations

from typing import Any


class PaygateError(Exception):
    """Base of every error this client raises."""


class APIError(PaygateError):
    """The API answered with an error: HTTP `status`, the stable machine `code`, a human `message`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: Any = None,
        request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.request_id = request_id
        self.idempotency_key = idempotency_key


class InvalidRequestError(APIError):
    """400/413/415/422: the request itself is wrong; `details` lists the fields."""


class AuthenticationError(APIError):
    """401: missing, malformed, unknown or rotated API key."""


class NotFoundError(APIError):
    """404: no such order for this app (another app's order looks exactly the same)."""


class ConflictError(APIError):
    """409: the order's state forbids it, or the number (or Idempotency-Key) was used with another body."""


class RateLimitedError(APIError):
    """429: this app is over its paygate rate limit (`rate_limited`, with Retry-After) or the provider
    is limiting it (`provider_rate_limited`); retried, honouring Retry-After, before it is raised."""


class ProviderError(APIError):
    """502: the provider refused or broke; your input was fine."""


class ProviderTimeoutError(APIError):
    """504: the provider did not answer in time; the order stays pending (retried before it is raised)."""


class ServiceUnavailableError(APIError):
    """503: paygate could not read the provider credentials (retried before it is raised)."""


class ServerError(APIError):
    """500 or any other status: a bug on the server side, logged there under `request_id`."""


class ConnectionFailedError(PaygateError):
    """No answer at all after every retry (connection refused, reset, or timed out)."""

    def __init__(self, message: str, *, idempotency_key: str | None = None) -> None:
        super().__init__(message)
        self.idempotency_key = idempotency_key


class InvalidCheckoutReturn(PaygateError, ValueError):  # noqa: N818 (the public name docs/checkout.md uses)
    """A hosted checkout return that does not prove itself: a parameter missing, repeated or malformed,
    a timestamp outside the tolerance, or a signature that does not match (verify_checkout_return)."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequestError,
    413: InvalidRequestError,
    415: InvalidRequestError,
    422: InvalidRequestError,
    401: AuthenticationError,
    403: NotFoundError,  # API Gateway's answer for a route it does not have
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
    502: ProviderError,
    503: ServiceUnavailableError,
    504: ProviderTimeoutError,
}


def error_for(status: int) -> type[APIError]:
    return _BY_STATUS.get(status, ServerError)
