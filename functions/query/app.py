"""Reads, scoped to the caller's app: bills, refunds, payouts, collections, and the BeilyPay balance.

GET /bills, /bills/{bill_no}, /refunds, /refunds/{refund_no}, /payouts, /payouts/{out_order_no},
/collections, /collections/{out_order_no} read the ledger; GET /balance asks BeilyPay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from paygate.api.http import answers, build_resolver, current_app, handle, json_response
from paygate.api.models import BillList, CollectionList, PayoutList, RefundList
from paygate.credentials import require_beilypay
from paygate.deps import beilypay_api_client, orders_store, transfers_store
from paygate.errors import InvalidRequestError, NotFoundError, ProviderError, to_api_error
from paygate.models import (
    Bill,
    BillStatus,
    Channel,
    Collection,
    OrderKind,
    Payout,
    Refund,
    RefundStatus,
    TransferStatus,
)
from paygate.store.cursors import InvalidCursorError
from paygate.store.orders import Page
from paygate.tracing import traced
from paygate.views import (
    BalanceView,
    BillView,
    CollectionView,
    PayoutView,
    RefundView,
    balance_view,
    bill_view,
    collection_view,
    payout_view,
    refund_view,
)

logger = Logger()
app = build_resolver()

MAX_LIMIT = 50
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
    created_from_ms, created_to_ms = _ms(created_from), _ms(created_to)
    if created_from_ms is not None and created_to_ms is not None and created_from_ms > created_to_ms:
        raise InvalidRequestError("created_from must not be later than created_to", code="invalid_time")
    try:
        return orders_store().list_orders(
            current_app(app).app_id,
            kind,
            limit=limit,
            cursor=cursor,
            created_from_ms=created_from_ms,
            created_to_ms=created_to_ms,
            filters=filters,
        )
    except InvalidCursorError as error:
        raise InvalidRequestError(str(error), code="invalid_cursor") from None


@app.get("/bills", summary="List bills, newest first", tags=["bills"], responses=answers(BillList, "A page", 404))
def list_bills(
    channel: Annotated[Channel | None, Query()] = None,
    status: Annotated[BillStatus | None, Query()] = None,
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    limit: Limit = 10,
    cursor: Cursor = None,
) -> Response[str]:
    page = _page(OrderKind.BILL, limit, cursor, created_from, created_to, _only(channel=channel, status=status))
    bills = [bill_view(Bill.model_validate(item)) for item in page.items]
    return json_response(200, BillList(data=bills, next_cursor=page.cursor))


@app.get("/bills/<bill_no>", summary="Get a bill", tags=["bills"], responses=answers(BillView, "The bill", 404))
def get_bill(bill_no: Annotated[str, Path(pattern=r"^[0-9A-Za-z]{1,32}$")]) -> Response[str]:
    bill = orders_store().get_bill(current_app(app).app_id, bill_no, consistent=False)
    if bill is None:
        raise NotFoundError("no bill with this bill_no", code="bill_not_found")
    return json_response(200, bill_view(bill))


@app.get(
    "/refunds",
    summary="List refunds, newest first",
    tags=["refunds"],
    responses=answers(RefundList, "A page", 404),
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
    filters = _only(bill_no=bill_no, channel=channel, status=status)
    page = _page(OrderKind.REFUND, limit, cursor, created_from, created_to, filters)
    refunds = [refund_view(Refund.model_validate(item)) for item in page.items]
    return json_response(200, RefundList(data=refunds, next_cursor=page.cursor))


@app.get(
    "/refunds/<refund_no>",
    summary="Get a refund",
    tags=["refunds"],
    responses=answers(RefundView, "The refund", 404),
)
def get_refund(refund_no: Annotated[str, Path(pattern=r"^[0-9A-Za-z]{1,32}$")]) -> Response[str]:
    refund = orders_store().get_refund(current_app(app).app_id, refund_no, consistent=False)
    if refund is None:
        raise NotFoundError("no refund with this refund_no", code="refund_not_found")
    return json_response(200, refund_view(refund))


OutOrderNoPath = Annotated[str, Path(pattern=r"^[0-9A-Za-z_-]{1,32}$")]


def _only(**filters: object) -> dict[str, str]:
    """The list filters the caller set."""
    return {name: str(value) for name, value in filters.items() if value is not None}


def _transfer[T: (Payout, Collection)](kind: OrderKind, cls: type[T], out_order_no: str) -> T:
    """The caller's payout or collection; 404 for another app's or none (never told apart)."""
    transfer = transfers_store().get_transfer(kind, current_app(app).app_id, out_order_no, consistent=False)
    if not isinstance(transfer, cls):
        raise NotFoundError(f"no {kind.value} with this out_order_no", code=f"{kind.value}_not_found")
    return transfer


@app.get(
    "/payouts",
    summary="List payouts, newest first",
    tags=["payouts"],
    responses=answers(PayoutList, "A page", 404),
)
def list_payouts(
    status: Annotated[TransferStatus | None, Query()] = None,
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    limit: Limit = 10,
    cursor: Cursor = None,
) -> Response[str]:
    page = _page(OrderKind.PAYOUT, limit, cursor, created_from, created_to, _only(status=status))
    return json_response(
        200, PayoutList(data=[payout_view(Payout.model_validate(i)) for i in page.items], next_cursor=page.cursor)
    )


@app.get(
    "/payouts/<out_order_no>",
    summary="Get a payout",
    tags=["payouts"],
    responses=answers(PayoutView, "The payout", 404),
)
def get_payout(out_order_no: OutOrderNoPath) -> Response[str]:
    return json_response(200, payout_view(_transfer(OrderKind.PAYOUT, Payout, out_order_no)))


@app.get(
    "/collections",
    summary="List collections, newest first",
    tags=["collections"],
    responses=answers(CollectionList, "A page", 404),
)
def list_collections(
    status: Annotated[TransferStatus | None, Query()] = None,
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    limit: Limit = 10,
    cursor: Cursor = None,
) -> Response[str]:
    page = _page(OrderKind.COLLECTION, limit, cursor, created_from, created_to, _only(status=status))
    return json_response(
        200,
        CollectionList(
            data=[collection_view(Collection.model_validate(i)) for i in page.items], next_cursor=page.cursor
        ),
    )


@app.get(
    "/collections/<out_order_no>",
    summary="Get a collection",
    tags=["collections"],
    responses=answers(CollectionView, "The collection", 404),
)
def get_collection(out_order_no: OutOrderNoPath) -> Response[str]:
    return json_response(200, collection_view(_transfer(OrderKind.COLLECTION, Collection, out_order_no)))


@app.get(
    "/balance",
    summary="The app's available BeilyPay balance (INR)",
    description="BeilyPay's /merchant/accountInfo settlementAmount, shown exactly as a decimal string.",
    tags=["payouts"],
    responses=answers(BalanceView, "The balance", 404, 409, 429, 502, 504),
)
def get_balance() -> Response[str]:
    creds = require_beilypay(current_app(app))
    try:
        amount = beilypay_api_client().balance(creds)
    except ProviderError as error:
        raise to_api_error(error) from error
    return json_response(200, balance_view(amount))


@traced
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(app, event, context)
