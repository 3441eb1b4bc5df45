"""Provider adapters: the only code that speaks BeeCloud's and BeilyPay's wire protocols.

Import the provider modules directly (`paygate.providers.beecloud`, `.beilypay`); the errors
and the shared HTTP client factory are re-exported here.
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
from paygate.providers.http import make_http_client

__all__ = [
    "ProviderError",
    "ProviderProtocolError",
    "ProviderRejectedError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "RejectReason",
    "WebhookVerificationError",
    "make_http_client",
    "parse_callback_body",
]
