"""BillFollowUpQueue: one delayed SQS message per bill follow-up (the delay is SQS's, per message)."""

from __future__ import annotations

from typing import Any

from paygate.payments.refresh import FollowUp


class FollowUpQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._sqs = client
        self._url = queue_url

    def send(self, follow_up: FollowUp, delay_s: int) -> None:
        """Visible to the BillFollowUp function `delay_s` seconds from now (0-900)."""
        self._sqs.send_message(QueueUrl=self._url, MessageBody=follow_up.model_dump_json(), DelaySeconds=delay_s)
