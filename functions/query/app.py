"""GET /bills, /bills/{bill_no}, /refunds, /refunds/{refund_no}: reads, scoped to the caller's app."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from paygate.api.http import build_resolver, current_app, error_responses, handle, json_response
from paygate.api.models import BillList, BillView, RefundList, RefundView
from paygate.api.views import bill_view, refund_view
from paygate.deps import orders_store
from paygate.errors import InvalidRequestError, NotFoundError
from paygate.models import Bill, BillStatus, Channel, OrderKind, Refund, RefundStatus
from paygate.store.orders import Page

logger = Logger()
app = build_resolver()

MAX_LIMIT = 50
_ERRORS = error_responses(404)
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size, at most 50")]
Cursor = Annotated[str | None, Query(max_length=1024, description="next_cursor of the previous page")]
CreatedFrom = Annotated[datetime | None, Query(description="Created at or after (ISO 8601)")]
CreatedTo = Annotated[datetime | None, Query(description="Created at or before (ISO 8601)")]


def _ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidRequestError("times must carry a timezone (e.g. 2026-01-01T00:00:00Z)", code="invalid_time")
    return int(value.timestamp() * 1000)


def _page(
    kind: OrderKind,
    limit: int,
    cursor: str | None,
    created_from: datetime | None,
    created_to: datetime | None,
    filters: dict[str, str],
) -> Page:
    try:
        return orders_store().list_orders(
            current_app(app).app_id,
            kind,
            limit=limit,
            cursor=cursor,
            created_from_ms=_ms(created_from),
            created_to_ms=_ms(created_to),
            filters=filters,
        )
    except ValueError as error:
        raise InvalidRequestError(str(error), code="invalid_cursor") from None


@app.get(
    "/bills",
    summary="List bills, newest first",
    tags=["bills"],
    responses={
        200: {"description": "A page", "content": {"application/json": {"model": BillList}}},
        **_ERRORS,
    },
)
def list_bills(
    channel: Annotated[Channel | None, Query()] = None,
    status: Annotated[BillStatus | None, Query()] = None,
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    limit: Limit = 10,
    cursor: Cursor = None,
) -> Response[str]:
    filters = {k: str(v) for k, v in {"channel": channel, "status": status}.items() if v is not None}
    page = _page(OrderKind.BILL, limit, cursor, created_from, created_to, filters)
    bills = [bill_view(Bill.model_validate(item)) for item in page.items]
    return json_response(200, BillList(data=bills, next_cursor=page.cursor))


@app.get(
    "/bills/<bill_no>",
    summary="Get a bill",
    tags=["bills"],
    responses={
        200: {"description": "The bill", "content": {"application/json": {"model": BillView}}},
        **_ERRORS,
    },
)
def get_bill(bill_no: Annotated[str, Path(pattern=r"^[0-9A-Za-z]{1,32}$")]) -> Response[str]:
    bill = orders_store().get_bill(current_app(app).app_id, bill_no, consistent=False)
    if bill is None:
        raise NotFoundError("no bill with this bill_no", code="bill_not_found")
    return json_response(200, bill_view(bill))


@app.get(
    "/refunds",
    summary="List refunds, newest first",
    tags=["refunds"],
    responses={
        200: {"description": "A page", "content": {"application/json": {"model": RefundList}}},
        **_ERRORS,
    },
)
def list_refunds(
    bill_no: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z]{1,32}$")] = None,
    channel: Annotated[Channel | None, Query()] = None,
    status: Annotated[RefundStatus | None, Query()] = None,
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    limit: Limit = 10,
    cursor: Cursor = None,
) -> Response[str]:
    filters = {
        k: str(v) for k, v in {"bill_no": bill_no, "channel": channel, "status": status}.items() if v is not None
    }
    page = _page(OrderKind.REFUND, limit, cursor, created_from, created_to, filters)
    refunds = [refund_view(Refund.model_validate(item)) for item in page.items]
    return json_response(200, RefundList(data=refunds, next_cursor=page.cursor))


@app.get(
    "/refunds/<refund_no>",
    summary="Get a refund",
    tags=["refunds"],
    responses={
        200: {"description": "The refund", "content": {"application/json": {"model": RefundView}}},
        **_ERRORS,
    },
)
def get_refund(refund_no: Annotated[str, Path(pattern=r"^[0-9A-Za-z]{1,32}$")]) -> Response[str]:
    refund = orders_store().get_refund(current_app(app).app_id, refund_no, consistent=False)
    if refund is None:
        raise NotFoundError("no refund with this refund_no", code="refund_not_found")
    return json_response(200, refund_view(refund))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
