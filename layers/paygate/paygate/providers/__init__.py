"""Provider adapters: the only code that speaks BeeCloud's and BeilyPay's wire protocols.

Import the provider modules directly (`paygate.providers.beecloud`, `.beilypay`, `.http`); the
errors and the callback-body parser are re-exported here. Nothing here imports httpx, so code
that only needs the error types (Query, ledger bookkeeping) does not load it at cold start.
"""

from paygate.providers._wire import parse_callback_body
from paygate.providers.errors import (
    ProviderError,
    ProviderProtocolError,
    ProviderRejectedError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RejectReason,
    WebhookVerificationError,
)

__all__ = [
    "ProviderError",
    "ProviderProtocolError",
    "ProviderRejectedError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "RejectReason",
    "WebhookVerificationError",
    "parse_callback_body",
]
