"""The one EventBridge publisher: versioned envelope, deterministic ids, failures surfaced."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from paygate.clock import iso_from_ms

SOURCE = "paygate"
ENVELOPE_VERSION = "1"
# Fixed namespace: the same order reaching the same final state always gets the same event id.
_EVENT_NAMESPACE = uuid.UUID("5b1f2c9e-8d43-4a51-9a0b-6f0e6c1d2a77")


class PublishError(Exception):
    """EventBridge refused an entry; the caller must not acknowledge the trigger."""


@dataclass(frozen=True)
class DomainEvent:
    detail_type: str  # e.g. bill.succeeded
    app_id: str
    order_key: str  # e.g. bill:<bill_no>
    occurred_at_ms: int
    data: dict[str, Any]

    @property
    def event_id(self) -> str:
        """Subscribers drop duplicates by this id: at-least-once delivery, exactly-once meaning."""
        return str(uuid.uuid5(_EVENT_NAMESPACE, f"{self.app_id}:{self.order_key}:{self.detail_type}"))

    def detail(self) -> dict[str, Any]:
        return {
            "version": ENVELOPE_VERSION,
            "event_id": self.event_id,
            "type": self.detail_type,
            "app_id": self.app_id,
            "occurred_at": iso_from_ms(self.occurred_at_ms),
            "data": self.data,
        }


class EventPublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._events = client
        self._bus = bus_name

    def publish(self, *events: DomainEvent) -> None:
        for start in range(0, len(events), 10):  # PutEvents takes at most 10 entries
            batch = events[start : start + 10]
            response = self._events.put_events(
                Entries=[
                    {
                        "Source": SOURCE,
                        "DetailType": event.detail_type,
                        "Detail": json.dumps(event.detail(), separators=(",", ":")),
                        "EventBusName": self._bus,
                        "Resources": [],
                    }
                    for event in batch
                ]
            )
            if response.get("FailedEntryCount", 0):
                failed = [e.get("ErrorCode") for e in response.get("Entries", []) if e.get("ErrorCode")]
                raise PublishError(f"EventBridge rejected {len(failed)} event(s): {failed}")
