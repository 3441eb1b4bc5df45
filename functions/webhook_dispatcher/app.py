"""WebhookDispatcher: two SQS event sources, one per stage, with partial batch failures.

- WebhookEventsQueue (EventBridge rule on the paygate bus): store the event, fan it out as one
  delivery task per subscribed endpoint onto WebhookDeliveriesQueue.
- WebhookDeliveriesQueue: one signed POST per task. A batch's records run concurrently, each
  bounded by WEBHOOK_TIMEOUT_S, so a slow receiver holds up no other endpoint. A failed attempt
  sets the message's visibility to the next backoff and is reported as a batch item failure;
  the last one goes to the dead-letter queue (the queue's maxReceiveCount = WEBHOOK_MAX_ATTEMPTS).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from paygate.deps import delivery_queue, dispatcher
from paygate.tracing import traced
from paygate.webhooks.dispatch import Outcome
from paygate.webhooks.models import DeliveryTask

logger = Logger()
metrics = Metrics()
# A batch whose every delivery failed is still a normal answer (all reported), not an error:
# the backoff is already set on each message.
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class RetryLaterError(Exception):
    """Reported as a batch item failure: SQS hands the message back after its visibility."""


async def _fan_out(body: dict[str, Any]) -> None:
    detail = body.get("detail")
    count = await asyncio.to_thread(dispatcher().fan_out, detail if isinstance(detail, dict) else {})
    metrics.add_metric(name="WebhookTasksQueued", unit=MetricUnit.Count, value=count)


async def _deliver(record: SQSRecord, body: dict[str, Any]) -> None:
    task = DeliveryTask.model_validate(body)
    attempt = max(1, int(record.attributes.approximate_receive_count))
    decision = await dispatcher().deliver(task, attempt)
    metrics.add_metric(name=f"WebhookDeliveries{decision.outcome.value.capitalize()}", unit=MetricUnit.Count, value=1)
    if decision.outcome is Outcome.RETRY:
        await asyncio.to_thread(delivery_queue().retry_in, record.receipt_handle, decision.retry_in_s)
        raise RetryLaterError(f"attempt {attempt} failed; next in {decision.retry_in_s} s")
    if decision.outcome is Outcome.DEAD:
        # Visible again at once: the next receive exceeds maxReceiveCount and SQS moves it to the DLQ.
        await asyncio.to_thread(delivery_queue().retry_in, record.receipt_handle, 0)
        raise RetryLaterError(f"attempt {attempt} was the last; to the dead-letter queue")


async def record_handler(record: SQSRecord) -> None:
    try:
        body = json.loads(record.body)
    except ValueError:
        logger.error("unreadable message dropped", extra={"message_id": record.message_id})
        return
    if isinstance(body, dict) and "detail-type" in body:
        await _fan_out(body)
    elif isinstance(body, dict) and body.get("kind") == "delivery":
        await _deliver(record, body)
    else:
        logger.error("unknown message dropped", extra={"message_id": record.message_id})


@traced
@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
