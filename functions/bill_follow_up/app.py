"""BillFollowUp: BillFollowUpQueue's consumer, one bill follow-up per record, partial batch failures.

Each record asks where one bill stands (paygate.payments.refresh): a final bill costs one GetItem; a
pending one BeeCloud's bill query, settled as the webhook would settle it, or one more delayed
message until the last attempt. Only our own failures (DynamoDB, EventBridge, Secrets Manager,
SQS) are reported as batch item failures, so SQS delivers just those records again.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from paygate.credentials import BeeCloudCredentials, require_beecloud
from paygate.deps import (
    app_cache,
    beecloud_client,
    bill_follow_up_scheduler,
    event_publisher,
    order_history,
    orders_store,
)
from paygate.errors import NotFoundError
from paygate.payments.refresh import BillFollowUps, BillRefresher, FollowUp
from paygate.tracing import traced

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _credentials_of(app_id: str) -> BeeCloudCredentials:
    app = app_cache().get(app_id)
    if app is None:
        raise NotFoundError("no such app", code="app_not_found")
    return require_beecloud(app)


def _follow_ups() -> BillFollowUps:
    scheduler = bill_follow_up_scheduler()
    assert scheduler is not None, "BILL_FOLLOW_UP_QUEUE_URL is not set"
    refresher = BillRefresher(
        orders_store(), beecloud_client(), event_publisher(), refreshed_by="follow_up", history=order_history()
    )
    return BillFollowUps(refresher, scheduler, _credentials_of)


def record_handler(record: SQSRecord) -> None:
    try:
        follow_up = FollowUp.model_validate_json(record.body)
    except ValidationError:
        logger.error("unreadable follow-up dropped", extra={"message_id": record.message_id})
        return
    with order_history().collected():
        outcome = _follow_ups().run(follow_up)
    metrics.add_metric(name=f"BillFollowUp{outcome.title().replace('_', '')}", unit=MetricUnit.Count, value=1)
    logger.info(
        "bill follow-up", extra={"bill_no": follow_up.bill_no, "attempt": follow_up.attempt, "outcome": outcome}
    )


@traced
@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
