"""The one EventBridge publisher: the catalogue's events on the bus, in batches, failures surfaced.

Every event about an order is written to that order's history once EventBridge took it.
"""

from __future__ import annotations

import json
from typing import Any

from paygate.events import DomainEvent
from paygate.history import EVENT_PUBLISHED, NO_HISTORY, Detail, OrderHistory

SOURCE = "paygate"


class PublishError(Exception):
    """EventBridge refused an entry; the caller must not acknowledge the trigger."""


class EventPublisher:
    def __init__(self, client: Any, bus_name: str, history: OrderHistory = NO_HISTORY) -> None:
        self._events = client
        self._bus = bus_name
        self._history = history

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
            for event in batch:
                if event.subject is not None:
                    detail: Detail = {"event_type": event.detail_type, "event_id": event.event_id}
                    self._history.record(event.app_id, *event.subject, EVENT_PUBLISHED, detail)
