"""The one recipe of every create endpoint (bills, refunds, payouts, collections).

Each runs through the Idempotency-Key store, answers 201 for a new order, 202 for a new order
whose provider answer was lost (it is `unknown` and will never be re-sent), 200 for an identical
repeat, logs one line, and counts the same business metric: `OrdersCreated` (and
`OrdersOutcomeUnknown`) with the order's kind as the `Order` dimension.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel

from paygate.api.http import current_app, error_responses, json_answer, public_base_url
from paygate.api.idempotency import respond
from paygate.models import App, Created
from paygate.settings import get_settings

# The optional header every create route takes (docs/api.md "Repeating requests safely").
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]

logger = Logger(child=True)
# Powertools keeps one metric set per namespace: the handler's @metrics.log_metrics flushes it.
metrics = Metrics()


def create_answers(view: type[BaseModel], *errors: int, may_be_unknown: bool = False) -> dict[int, OpenAPIResponse]:
    """OpenAPI entries of a create route: 201, 202 when a provider answer can be lost, 200, and the errors."""
    lost = "Outcome unknown: recorded, the provider's answer was lost"
    unknown = {202: json_answer(view, lost)} if may_be_unknown else {}
    created, repeat = json_answer(view, "Created"), json_answer(view, "Identical repeat")
    return {201: created, **unknown, 200: repeat, **error_responses(*errors)}


def status_of(outcome: Created[Any]) -> int:
    """201 created, 202 created but the provider's answer was lost, 200 an identical repeat."""
    if not outcome.created:
        return 200
    return 202 if outcome.outcome_unknown else 201


def count(kind: str, outcome: Created[Any]) -> None:
    """One data point per order this call created; repeats are not new business."""
    if not outcome.created:
        return
    metrics.add_dimension(name="Order", value=kind)
    metrics.add_metric(name="OrdersCreated", unit=MetricUnit.Count, value=1)
    if outcome.outcome_unknown:
        metrics.add_metric(name="OrdersOutcomeUnknown", unit=MetricUnit.Count, value=1)


def answer_create[O](
    resolver: APIGatewayRestResolver,
    kind: str,
    order_no: str,
    request: BaseModel,
    idempotency_key: str | None,
    create: Callable[[App], Created[O]],
    view: Callable[[O], BaseModel],
) -> Response[str]:
    """Create (or find the identical earlier) order for the calling app and answer it, alike for every kind."""
    caller = current_app(resolver)

    def compute() -> tuple[int, BaseModel]:
        outcome = create(caller)
        count(kind, outcome)
        logger.info(
            f"{kind} created" if outcome.created else f"{kind} repeated",
            extra={"order_no": order_no, "outcome_unknown": outcome.outcome_unknown},
        )
        return status_of(outcome), view(outcome.order)

    return respond(
        resolver, operation=f"create_{kind}", app_id=caller.app_id, key=idempotency_key, body=request, compute=compute
    )


def beilypay_notify_url(resolver: APIGatewayRestResolver, caller: App) -> str:
    """Where BeilyPay sends this app's notifies: the callback route on the domain we are reached on."""
    return f"{public_base_url(resolver, get_settings().public_base_url)}/callbacks/beilypay/{caller.app_id}"
