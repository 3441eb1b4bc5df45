"""POST /payouts: validate, record the payout, start its poller, ask BeilyPay to pay out once."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from paygate.api.creates import IdempotencyKey, answer_create, beilypay_notify_url, create_answers, metrics
from paygate.api.http import build_resolver, handle
from paygate.credentials import require_beilypay
from paygate.deps import beilypay_api_client, payout_service
from paygate.models import App, Created, Payout
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
    responses=create_answers(PayoutView, 400, 409, 413, 415, 429, 502, may_be_unknown=True),
    tags=["payouts"],
)
def create_payout(
    request: Annotated[CreatePayoutRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[str]:
    def create(caller: App) -> Created[Payout]:
        creds, notify_url = require_beilypay(caller), beilypay_notify_url(app, caller)
        return payout_service().create(caller, creds, beilypay_api_client(), request, notify_url=notify_url)

    return answer_create(app, "payout", request.out_order_no, request, idempotency_key, create, payout_view)


@traced
@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
