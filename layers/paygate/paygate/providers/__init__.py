"""Provider adapters: the only code that speaks BeeCloud's and BeilyPay's wire protocols.

Import the provider modules directly (`paygate.providers.beecloud`, `.beilypay`, `.http`); the
failures they raise are in `paygate.errors`. Nothing here imports httpx, so code that only
parses a callback body does not load it at cold start.
"""

from paygate.providers._wire import parse_callback_body

__all__ = ["parse_callback_body"]
