"""POST /refunds and POST /refunds/{refund_no}/refresh: refunds of paid bills over BeeCloud."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from paygate.api.creates import answer_create, metrics
from paygate.api.http import build_resolver, current_app, error_responses, handle, json_response
from paygate.credentials import require_beecloud
from paygate.deps import refund_service
from paygate.payments.requests import CreateRefundRequest
from paygate.tracing import traced
from paygate.views import RefundView, refund_view

logger = Logger()
app = build_resolver()

_ERRORS = error_responses(400, 404, 409, 413, 415, 429, 502, 504)


@app.post(
    "/refunds",
    summary="Refund a paid bill",
    description="One refund per bill may succeed (BeeCloud's rule); refunds never exceed the bill.",
    responses={
        201: {"description": "Accepted (pending)", "content": {"application/json": {"model": RefundView}}},
        200: {"description": "Identical repeat", "content": {"application/json": {"model": RefundView}}},
        **_ERRORS,
    },
    tags=["refunds"],
)
def create_refund(
    request: Annotated[CreateRefundRequest, Body()],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response[str]:
    caller = current_app(app)
    return answer_create(
        app,
        kind="refund",
        order_no=request.refund_no,
        caller=caller,
        idempotency_key=idempotency_key,
        request=request,
        create=lambda: refund_service().create(caller, require_beecloud(caller), request),
        view=refund_view,
    )


@app.post(
    "/refunds/<refund_no>/refresh",
    summary="Ask BeeCloud where a pending refund stands",
    description="WeChat refunds: BeeCloud refund/status; other channels: BeeCloud's refund query.",
    responses={
        200: {"description": "The refund", "content": {"application/json": {"model": RefundView}}},
        **_ERRORS,
    },
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
