"""POST /collections: validate, record the collection, start its poller, get BeilyPay's pay_url."""

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
from paygate.deps import beilypay_api_client, collection_service
from paygate.models import App, Collection, Created
from paygate.tracing import traced
from paygate.transfers.requests import CreateCollectionRequest
from paygate.views import CollectionView, collection_view

logger = Logger()
app = build_resolver()


@app.post(
    "/collections",
    summary="Collect a payment in India",
    description="Records the collection, then asks BeilyPay once (/v2/payment/create) for the page where the payer "
    "pays (`pay_url`). BeilyPay's notify or the poller settles it; `paid` is what the payer actually paid. 202: "
    "BeilyPay's answer was lost (status `unknown`, no pay_url). Repeating the same out_order_no with the same "
    "body returns the stored collection (200); another body is a 409.",
    responses=create_answers(CollectionView, 400, 409, 413, 415, 429, 502, may_be_unknown=True),
    tags=["collections"],
)
def create_collection(
    request: Annotated[CreateCollectionRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[str]:
    def create(caller: App) -> Created[Collection]:
        creds, notify_url = require_beilypay(caller), beilypay_notify_url(app, caller)
        return collection_service().create(caller, creds, beilypay_api_client(), request, notify_url=notify_url)

    return answer_create(app, "collection", request.out_order_no, request, idempotency_key, create, collection_view)


@traced
@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
