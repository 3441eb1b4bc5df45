"""POST /refunds and POST /refunds/{refund_no}/refresh: refunds of paid bills over BeeCloud."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from paygate.api.creates import IdempotencyKey, answer_create, create_answers, metrics
from paygate.api.http import answers, build_resolver, current_app, handle, json_response
from paygate.credentials import require_beecloud
from paygate.deps import refund_service
from paygate.models import App, Created, Refund
from paygate.payments.requests import CreateRefundRequest
from paygate.tracing import traced
from paygate.views import RefundView, refund_view

logger = Logger()
app = build_resolver()

_ERROR_CODES = (
    400,
    404,
    409,
    413,
    415,
    429,
    502,
    504,
)


@app.post(
    "/refunds",
    summary="Refund a paid bill",
    description="One refund per bill may succeed (BeeCloud's rule); refunds never exceed the bill.",
    responses=create_answers(RefundView, *_ERROR_CODES),
    tags=["refunds"],
)
def create_refund(
    request: Annotated[CreateRefundRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[str]:
    def create(caller: App) -> Created[Refund]:
        return refund_service().create(caller, require_beecloud(caller), request)

    return answer_create(app, "refund", request.refund_no, request, idempotency_key, create, refund_view)


@app.post(
    "/refunds/<refund_no>/refresh",
    summary="Ask BeeCloud where a pending refund stands",
    description="WeChat refunds: BeeCloud refund/status; other channels: BeeCloud's refund query.",
    responses=answers(RefundView, "The refund", *_ERROR_CODES),
    tags=["refunds"],
)
def refresh_refund(refund_no: Annotated[str, Path(pattern=r"^[0-9A-Za-z]{11,32}$")]) -> Response[str]:
    caller = current_app(app)
    return json_response(200, refund_view(refund_service().refresh(caller, require_beecloud(caller), refund_no)))


@traced
@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
