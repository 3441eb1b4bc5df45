"""BeeCloud's MD5 signatures: request ``app_sign`` and the webhook's ``sign`` and ``signature``."""

from __future__ import annotations

import hashlib
import hmac


def md5_hex(text: str) -> str:
    """Lowercase hex MD5 of the UTF-8 text (every BeeCloud signature is plain concatenation)."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def app_sign(app_id: str, timestamp: int | str, secret: str) -> str:
    """``md5(app_id + timestamp + secret)``, the request signature of every /1/rest endpoint."""
    return md5_hex(f"{app_id}{timestamp}{secret}")


def sign_matches(expected_hex: str, received: str) -> bool:
    """Case-insensitive constant-time comparison (the doc says app_sign is case-insensitive)."""
    return hmac.compare_digest(expected_hex.lower().encode(), received.lower().encode())


def verify_app_sign(app_id: str, timestamp: int, received: str, secrets: list[str]) -> bool:
    """True when ``received`` is the app_sign under any of the accepted secrets.

    Every secret is tried (no early exit) so the timing does not reveal which one matched.
    """
    matched = False
    for secret in secrets:
        matched |= sign_matches(app_sign(app_id, timestamp, secret), received)
    return matched


def webhook_sign(app_id: str, app_secret: str, timestamp: int) -> str:
    """Legacy webhook ``sign = md5(app_id + app_secret + timestamp)`` (all payload generations)."""
    return md5_hex(f"{app_id}{app_secret}{timestamp}")


def webhook_signature(
    app_id: str,
    transaction_id: str,
    transaction_type: str,
    channel_type: str,
    transaction_fee: int,
    master_secret: str,
) -> str:
    """2017 ``signature = md5(app_id + transaction_id + type + channel_type + fee + master_secret)``."""
    return md5_hex(f"{app_id}{transaction_id}{transaction_type}{channel_type}{transaction_fee}{master_secret}")
