"""Verify a paygate webhook: pure standard library, safe to copy into a receiver as is.

paygate signs each delivery with every active signing secret of the endpoint:

    Paygate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,v1=...]

The key is the whole secret string (``whsec_...``) as UTF-8. Verify the *raw* body bytes before
parsing them, reject timestamps outside the tolerance window (replays), compare in constant time,
and accept any ``v1`` value that matches any of your secrets (rotation). Then deduplicate on the
body's ``event_id``: delivery is at least once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterable
from typing import Any

SIGNATURE_HEADER = "Paygate-Signature"
EVENT_ID_HEADER = "Paygate-Event-Id"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300


class SignatureVerificationError(Exception):
    """The delivery is not authentic, was altered, or is too old (or too far in the future)."""


def compute_signature(secret: str, timestamp: int, payload: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>." + payload`` keyed with the secret."""
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def parse_header(header: str) -> tuple[int, list[str]]:
    """``t=...,v1=...,v1=...`` -> (timestamp, v1 signatures); unknown schemes are ignored."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            if not value.isdigit():
                raise SignatureVerificationError("the timestamp is not an integer")
            timestamp = int(value)
        elif key == SCHEME:
            signatures.append(value.strip().lower())
    if timestamp is None:
        raise SignatureVerificationError("no timestamp in the signature header")
    if not signatures:
        raise SignatureVerificationError(f"no {SCHEME} signature in the signature header")
    return timestamp, signatures


def verify_signature(
    payload: bytes | str,
    header: str | None,
    secrets: str | Iterable[str],
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> int:
    """Raise SignatureVerificationError unless one v1 matches one secret within the window.

    Returns the signed timestamp. ``secrets`` may hold the old and the new secret while you rotate.
    """
    if not header:
        raise SignatureVerificationError(f"missing {SIGNATURE_HEADER} header")
    body = payload.encode() if isinstance(payload, str) else payload
    timestamp, signatures = parse_header(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise SignatureVerificationError("the timestamp is outside the tolerance window")
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    matched = False
    for secret in candidates:
        expected = compute_signature(secret, timestamp, body)
        for signature in signatures:
            # Check every pair (no early exit), so timing does not reveal which one matched.
            matched |= hmac.compare_digest(expected, signature)
    if not matched:
        raise SignatureVerificationError("no signature matches")
    return timestamp


def construct_event(
    payload: bytes | str,
    header: str | None,
    secrets: str | Iterable[str],
    *,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> dict[str, Any]:
    """Verify, then parse: the event as a dict (``event_id``, ``type``, ``app_id``, ``data``, ...)."""
    verify_signature(payload, header, secrets, tolerance_s=tolerance_s, now=now)
    event: Any = json.loads(payload)
    if not isinstance(event, dict):
        raise SignatureVerificationError("the payload is not a JSON object")
    return event
