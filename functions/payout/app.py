"""POST /payouts: validate, record the payout, start its poller, ask BeilyPay to pay out once."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from paygate.api.creates import answer_create, metrics
from paygate.api.http import build_resolver, current_app, error_responses, handle, public_base_url
from paygate.credentials import require_beilypay
from paygate.deps import beilypay_api_client, payout_service
from paygate.settings import get_settings
from paygate.tracing import traced
from paygate.transfers.requests import CreatePayoutRequest
from paygate.views import PayoutView, payout_view

logger = Logger()
app = build_resolver()


@app.post(
    "/payouts",
    summary="Pay out to an Indian bank account",
    description="Records the payout, then asks BeilyPay once (/v2/trans/create). 201: accepted (pending until "
    "BeilyPay's notify or the poller settles it). 202: BeilyPay's answer was lost, the payout is `unknown` and "
    "will NOT be re-sent; do not re-issue it under a new out_order_no before it is reconciled. Repeating the "
    "same out_order_no with the same body returns the stored payout (200); another body is a 409.",
    responses={
        201: {"description": "Created (pending)", "content": {"application/json": {"model": PayoutView}}},
        202: {"description": "Outcome unknown", "content": {"application/json": {"model": PayoutView}}},
        200: {"description": "Identical repeat", "content": {"application/json": {"model": PayoutView}}},
        **error_responses(400, 409, 413, 415, 429, 502),
    },
    tags=["payouts"],
)
def create_payout(
    request: Annotated[CreatePayoutRequest, Body()],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response[str]:
    caller = current_app(app)
    settings = get_settings()
    notify_url = f"{public_base_url(app, settings.public_base_url)}/callbacks/beilypay/{caller.app_id}"

    return answer_create(
        app,
        kind="payout",
        order_no=request.out_order_no,
        caller=caller,
        idempotency_key=idempotency_key,
        request=request,
        create=lambda: payout_service().create(
            caller, require_beilypay(caller), beilypay_api_client(), request, notify_url=notify_url
        ),
        view=payout_view,
    )


@traced
@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
