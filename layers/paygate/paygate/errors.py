"""Typed domain errors; the API layer turns each into one JSON error shape in one place."""

from __future__ import annotations

from typing import Any


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

    (The adapter's own exception is `providers.errors.ProviderTimeoutError`; this is its API answer.)"""

    status = 504
    code = "provider_timeout"


class ServiceUnavailableError(PaygateError):
    status = 503
    code = "service_unavailable"
