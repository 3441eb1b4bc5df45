"""POST /bills and POST /bills/{bill_no}/refresh: bills over BeeCloud.

A bill BeeCloud created gets one delayed follow-up on BillFollowUpQueue, so that a lost webhook
is settled within minutes (paygate.payments.refresh).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from paygate.api.http import build_resolver, current_app, error_responses, handle, json_response
from paygate.api.idempotency import respond
from paygate.clock import now_ms
from paygate.credentials import require_beecloud
from paygate.deps import beecloud_client, bill_follow_up_scheduler, event_publisher, orders_store
from paygate.payments.bills import BillService
from paygate.payments.refresh import BillRefresher, needs_follow_up
from paygate.payments.requests import CreateBillRequest
from paygate.settings import get_settings
from paygate.tracing import traced
from paygate.views import BillView, bill_view

logger = Logger()
app = build_resolver()


@app.post(
    "/bills",
    summary="Create a bill",
    description="Records the bill, then asks BeeCloud for the channel's payment parameters. "
    "Repeating the same bill_no with the same body returns the same bill (200); another body is a 409.",
    responses={
        201: {"description": "Created", "content": {"application/json": {"model": BillView}}},
        200: {"description": "Identical repeat", "content": {"application/json": {"model": BillView}}},
        **error_responses(400, 409, 413, 415, 429, 502, 504),
    },
    tags=["bills"],
)
def create_bill(
    request: Annotated[CreateBillRequest, Body()],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response[str]:
    caller = current_app(app)

    def compute() -> tuple[int, BaseModel]:
        service = BillService(
            orders_store(), beecloud_client(), event_publisher(), lease_ms=get_settings().provider_lease_ms
        )
        started_ms = now_ms()
        outcome = service.create(caller, require_beecloud(caller), request)
        logger.info("bill created" if outcome.created else "bill repeated", extra={"bill_no": request.bill_no})
        scheduler = bill_follow_up_scheduler()
        if scheduler is not None and needs_follow_up(outcome.bill, started_ms):
            scheduler.start(outcome.bill)
        return (201 if outcome.created else 200), bill_view(outcome.bill)

    return respond(
        app, operation="create_bill", app_id=caller.app_id, key=idempotency_key, body=request, compute=compute
    )


@app.post(
    "/bills/<bill_no>/refresh",
    summary="Ask BeeCloud whether a pending bill was paid",
    description="For a bill whose webhook was lost: asks BeeCloud's bill query and, if it reports the bill "
    "paid with the same amount and channel, settles it exactly as the webhook would (bill.succeeded). "
    "A final bill is returned unchanged; an unpaid one stays pending. A record that differs from the "
    "ledger is not settled: 409 provider_mismatch, and a reconciliation.mismatch event.",
    responses={
        200: {"description": "The bill", "content": {"application/json": {"model": BillView}}},
        **error_responses(400, 404, 409, 413, 415, 429, 502, 504),
    },
    tags=["bills"],
)
def refresh_bill(bill_no: Annotated[str, Path(pattern=r"^[0-9A-Za-z]{1,32}$")]) -> Response[str]:
    caller = current_app(app)
    refresher = BillRefresher(orders_store(), beecloud_client(), event_publisher())
    bill = refresher.refresh(caller.app_id, bill_no, lambda: require_beecloud(caller))
    return json_response(200, bill_view(bill))


@traced
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
