"""The merchant's side of hosted checkout's return: verify the signed query paygate adds to return_url.

    return_url?...&session_id=cs_...&timestamp=1796431622&signature=<hex>
    signature = hex(HMAC-SHA256(key = the app's checkout secret, message = "<timestamp>.<session_id>.complete"))

The same scheme as the server's paygate.checkout.signing (docs/checkout.md, "The return signature"),
written again here: the client does not import the server.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from urllib.parse import parse_qs

from paygate_client.errors import InvalidCheckoutReturn

SCHEME_SUFFIX = "complete"
DEFAULT_TOLERANCE_S = 300
PARAMETERS = ("session_id", "timestamp", "signature")
_SESSION_ID = re.compile(r"cs_[0-9a-f]{24}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


def verify_checkout_return(
    query: Mapping[str, str] | str,
    secret: str,
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> str:
    """The session id of a genuine return from hosted checkout, or InvalidCheckoutReturn.

    `query` is the return request's query: a raw query string ("session_id=cs_…&timestamp=…&signature=…",
    a leading "?" is allowed; decode bytes first) or a mapping of its parameters to single values
    (lists of values, as parse_qs gives, must hold one each). A parameter given twice is refused
    (a framework's multi-dict shows one value per name: pass the raw query string to have repeats
    refused); parameters of your own return_url are ignored. `secret` is the app's checkout secret (shown
    once by the operator CLI). The timestamp may be at most `tolerance_s` seconds from `now`
    (default: the current time), either way.

    The signature proves that paygate sent the payer back to you for this session, recently. It is
    not the record to ship on: confirm the session is complete first, with get_checkout_session
    (status "complete") or the checkout.session.completed event, which also arrives when the payer
    never comes back.
    """
    if not secret:
        raise ValueError("the checkout secret is required")
    if tolerance_s < 0:
        raise ValueError("tolerance_s must not be negative")
    session_id, timestamp, signature = (_single(query, name) for name in PARAMETERS)
    if not _SESSION_ID.fullmatch(session_id):
        raise InvalidCheckoutReturn("session_id is not a checkout session id")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise InvalidCheckoutReturn("timestamp is not an integer number of seconds")
    age = (time.time() if now is None else now) - int(timestamp)
    if age > tolerance_s:
        raise InvalidCheckoutReturn(f"the return is too old ({int(age)} s, at most {tolerance_s} s)")
    if -age > tolerance_s:
        raise InvalidCheckoutReturn(f"timestamp is in the future ({int(-age)} s ahead, at most {tolerance_s} s)")
    if not _SIGNATURE.fullmatch(signature):
        raise InvalidCheckoutReturn("signature is not a lowercase hex HMAC-SHA256")
    message = f"{timestamp}.{session_id}.{SCHEME_SUFFIX}".encode()
    expected = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise InvalidCheckoutReturn("the signature does not match (another secret, or a changed parameter)")
    return session_id


def _single(query: Mapping[str, str] | str, name: str) -> str:
    """The one value of parameter `name`: refused when missing, repeated or not a string."""
    values: list[object]
    if isinstance(query, str):
        values = list(parse_qs(query.removeprefix("?"), keep_blank_values=True).get(name, []))
    elif isinstance(query, Mapping):
        value: object = query.get(name)
        values = [] if value is None else list(value) if isinstance(value, list | tuple) else [value]
    else:
        raise TypeError(f"query must be a query string or a mapping, not {type(query).__name__}")
    if not values:
        raise InvalidCheckoutReturn(f"{name} is missing")
    if len(values) > 1:
        raise InvalidCheckoutReturn(f"{name} is given {len(values)} times")
    if not isinstance(values[0], str):
        raise InvalidCheckoutReturn(f"{name} is not a string")
    return values[0]


__all__ = ["InvalidCheckoutReturn", "verify_checkout_return"]
