"""The deliveries queue: one message per (event, endpoint); backoff through its visibility."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from paygate.webhooks.models import DeliveryTask


class EnqueueError(Exception):
    """SQS refused some tasks; the caller must not acknowledge its trigger."""


class DeliveryQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._sqs = client
        self._url = queue_url

    def send(self, tasks: Sequence[DeliveryTask]) -> None:
        for start in range(0, len(tasks), 10):  # SendMessageBatch takes at most 10
            batch = tasks[start : start + 10]
            response = self._sqs.send_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "MessageBody": task.model_dump_json()} for i, task in enumerate(batch)],
            )
            if response.get("Failed"):
                codes = [f.get("Code") for f in response["Failed"]]
                raise EnqueueError(f"SQS refused {len(codes)} delivery task(s): {codes}")

    def retry_in(self, receipt_handle: str, seconds: int) -> None:
        """The message comes back after `seconds` (Lambda leaves failed records on the queue)."""
        self._sqs.change_message_visibility(QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds)
