"""The return to the merchant: the paid session's id, a timestamp and an HMAC the merchant checks.

    return_url?...&session_id=cs_...&timestamp=1796431622&signature=<hex>
    signature = hex(HMAC-SHA256(checkout secret, "<timestamp>.<session_id>.complete"))

The merchant recomputes it with its checkout secret (shown once by the operator CLI), compares in
constant time, and refuses a timestamp older than a few minutes. The signature proves that
paygate sent the payer back for this session; the session's state (GET /checkout/sessions/{id}
or the checkout.session.completed event) remains the record to ship the order on.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

SCHEME_SUFFIX = "complete"


def return_signature(secret: str, session_id: str, timestamp: int) -> str:
    message = f"{timestamp}.{session_id}.{SCHEME_SUFFIX}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_return_url(return_url: str, secret: str, session_id: str, timestamp: int) -> str:
    query = urlencode(
        {"session_id": session_id, "timestamp": timestamp, "signature": return_signature(secret, session_id, timestamp)}
    )
    return f"{return_url}{'&' if '?' in return_url else '?'}{query}"


def verify_return(
    secret: str, session_id: str, timestamp: int, signature: str, *, now_s: int, tolerance_s: int = 300
) -> bool:
    """What a merchant does (the typed client has the same): constant-time, and not too old."""
    if abs(now_s - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(return_signature(secret, session_id, timestamp), signature)
