"""Webhook entities: an endpoint, a stored event, a delivery task, one recorded attempt."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from paygate import events

# The catalogue a merchant can subscribe to (docs/events.md); patterns are exact types,
# "<family>.*" or "*".
EVENT_TYPES: tuple[str, ...] = (
    events.BILL_SUCCEEDED,
    events.BILL_FAILED,
    events.REFUND_SUCCEEDED,
    events.REFUND_FAILED,
    events.PAYOUT_SUCCEEDED,
    events.PAYOUT_FAILED,
    events.PAYOUT_UNKNOWN,
    events.COLLECTION_SUCCEEDED,
    events.COLLECTION_FAILED,
    events.COLLECTION_UNKNOWN,
    events.CHECKOUT_COMPLETED,
    events.CHECKOUT_EXPIRED,
    events.CHECKOUT_EXTRA_PAYMENT,
)
EVENT_FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(t.split(".", 1)[0] for t in EVENT_TYPES))


def valid_pattern(pattern: str) -> bool:
    """A pattern names catalogue types: one type, one family ("payout.*"), or everything ("*")."""
    if pattern == "*" or pattern in EVENT_TYPES:
        return True
    family, sep, rest = pattern.partition(".")
    return bool(sep) and rest == "*" and family in EVENT_FAMILIES


def matches(patterns: list[str], event_type: str) -> bool:
    for pattern in patterns:
        if pattern in ("*", event_type):
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def retry_delay_s(attempt: int, *, base_s: int, max_s: int) -> int:
    """How long after failed attempt `attempt` (1-based) the next one starts: doubling, capped."""
    delay: int = base_s * 2 ** min(attempt - 1, 32)
    return min(max_s, delay)


class WebhookEndpoint(BaseModel):
    """Where one app wants its events: an URL and the event types it subscribes to."""

    model_config = ConfigDict(frozen=True)

    app_id: str
    endpoint_id: str
    url: str
    event_types: list[str]
    description: str | None = None
    created_at_ms: int
    secret_rotated_at_ms: int | None = None

    def subscribes_to(self, event_type: str) -> bool:
        return matches(self.event_types, event_type)


class StoredEvent(BaseModel):
    """An event as it was delivered: the exact JSON body, kept for resends until its TTL."""

    model_config = ConfigDict(frozen=True)

    app_id: str
    event_id: str
    event_type: str
    payload: str
    received_at_ms: int


class DeliveryTask(BaseModel):
    """One SQS message per (event, endpoint): its own retries, its own backoff, its own DLQ entry."""

    model_config = ConfigDict(frozen=True)

    version: Literal["1"] = "1"
    kind: Literal["delivery"] = "delivery"
    app_id: str
    endpoint_id: str
    event_id: str
    event_type: str
    payload: str
    resend: bool = False


class AttemptStatus(StrEnum):
    SUCCEEDED = "succeeded"  # the receiver answered 2xx: no more attempts
    FAILED = "failed"  # anything else: retried on the schedule until the last attempt


class DeliveryAttempt(BaseModel):
    """One POST to one endpoint, as the delivery log shows it."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    app_id: str
    endpoint_id: str
    event_id: str
    event_type: str
    attempt: int = Field(ge=1)
    status: AttemptStatus
    response_status: int | None = None
    latency_ms: int
    error: str | None = None
    attempted_at_ms: int
    next_attempt_at_ms: int | None = None
    final: bool = False
    resend: bool = False


@dataclass(frozen=True)
class SendResult:
    """One delivery attempt's outcome (here, not in the sender, so enqueuing never imports httpx)."""

    response_status: int | None
    latency_ms: int
    error: str | None  # None only for a 2xx

    @property
    def ok(self) -> bool:
        return self.error is None
