"""POST /bills and POST /bills/{bill_no}/refresh: bills over BeeCloud.

A bill BeeCloud created gets one delayed follow-up on BillFollowUpQueue, so that a lost webhook
is settled within minutes (paygate.payments.refresh).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from paygate.api.creates import IdempotencyKey, answer_create, create_answers, metrics
from paygate.api.http import answers, build_resolver, current_app, handle, json_response
from paygate.clock import now_ms
from paygate.credentials import require_beecloud
from paygate.deps import bill_follow_up_scheduler, bill_refresher, bill_service
from paygate.models import App, Bill, Created
from paygate.payments.refresh import needs_follow_up
from paygate.payments.requests import CreateBillRequest
from paygate.tracing import traced
from paygate.views import BillView, bill_view

logger = Logger()
app = build_resolver()


@app.post(
    "/bills",
    summary="Create a bill",
    description="Records the bill, then asks BeeCloud for the channel's payment parameters. "
    "Repeating the same bill_no with the same body returns the same bill (200); another body is a 409.",
    responses=create_answers(BillView, 400, 409, 413, 415, 429, 502, 504),
    tags=["bills"],
)
def create_bill(request: Annotated[CreateBillRequest, Body()], idempotency_key: IdempotencyKey = None) -> Response[str]:
    def create(caller: App) -> Created[Bill]:
        started_ms = now_ms()
        outcome = bill_service().create(caller, require_beecloud(caller), request)
        scheduler = bill_follow_up_scheduler()
        if scheduler is not None and needs_follow_up(outcome.order, started_ms):
            scheduler.start(outcome.order)
        return outcome

    return answer_create(app, "bill", request.bill_no, request, idempotency_key, create, bill_view)


@app.post(
    "/bills/<bill_no>/refresh",
    summary="Ask BeeCloud whether a pending bill was paid",
    description="For a bill whose webhook was lost: asks BeeCloud's bill query and, if it reports the bill "
    "paid with the same amount and channel, settles it exactly as the webhook would (bill.succeeded). "
    "A final bill is returned unchanged; an unpaid one stays pending. A record that differs from the "
    "ledger is not settled: 409 provider_mismatch, and a reconciliation.mismatch event.",
    responses=answers(BillView, "The bill", 400, 404, 409, 413, 415, 429, 502, 504),
    tags=["bills"],
)
def refresh_bill(bill_no: Annotated[str, Path(pattern=r"^[0-9A-Za-z]{1,32}$")]) -> Response[str]:
    caller = current_app(app)
    bill = bill_refresher().refresh(caller.app_id, bill_no, lambda: require_beecloud(caller))
    return json_response(200, bill_view(bill))


@traced
@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
