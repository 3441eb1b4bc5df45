"""FirstPoll: FirstPollQueue's consumer, the first poll round of a new payout or collection.

Each record is the order's initial poll state, delivered after the first wait. One round as the
state machine's task would run it (paygate.transfers.poller.PendingPoller): an order the notify
already settled costs one GetItem and nothing more; one still pending hands over to the state
machine, which waits the next interval and polls on (a second start for the same order is a
no-op, so a redelivered record is harmless). Only our own failures are batch item failures.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from paygate.deps import order_history, pending_poller, poller_starter
from paygate.tracing import traced
from paygate.transfers.poller import PollState

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    try:
        state = PollState.model_validate_json(record.body)
    except ValidationError:
        logger.error("unreadable first poll dropped", extra={"message_id": record.message_id})
        return
    with order_history().collected():
        result = pending_poller().run(state)
    handed_over = result.outcome != "final" and poller_starter().start_state(result, retryable=True)
    metrics.add_metric(
        name="FirstPollFinal" if result.outcome == "final" else "FirstPollHandedOver", unit=MetricUnit.Count, value=1
    )
    logger.info(
        "first poll",
        extra={
            "kind": state.kind,
            "out_order_no": state.out_order_no,
            "outcome": result.outcome,
            "handed_over": handed_over,
        },
    )


@traced
@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
