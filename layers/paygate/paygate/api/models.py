"""The API's own response shapes: lists and errors (the webhook endpoints' are in `webhook_models`).

The orders' shapes are in `paygate.views` (shared with the events); what a caller may ask is in
each feature's `requests` module.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from paygate.views import BillView, CollectionView, PayoutView, RefundView


class BillList(BaseModel):
    object: Literal["list"] = "list"
    data: list[BillView]
    next_cursor: str | None


class RefundList(BaseModel):
    object: Literal["list"] = "list"
    data: list[RefundView]
    next_cursor: str | None


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class PayoutList(BaseModel):
    object: Literal["list"] = "list"
    data: list[PayoutView]
    next_cursor: str | None


class CollectionList(BaseModel):
    object: Literal["list"] = "list"
    data: list[CollectionView]
    next_cursor: str | None
