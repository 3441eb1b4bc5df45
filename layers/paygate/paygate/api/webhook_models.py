"""The webhook endpoints API's response shapes (only WebhookEndpoints loads them)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from paygate.clock import iso_from_ms
from paygate.webhooks.models import DeliveryAttempt, WebhookEndpoint


class WebhookEndpointView(BaseModel):
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    id: str
    url: str
    event_types: list[str]
    description: str | None = None
    created_at: str
    secret_rotated_at: str | None = None


class CreatedWebhookEndpointView(WebhookEndpointView):
    secret: str = Field(description="The signing secret (whsec_...). Shown once: store it now.")


class WebhookEndpointList(BaseModel):
    object: Literal["list"] = "list"
    data: list[WebhookEndpointView]


class DeletedWebhookEndpointView(BaseModel):
    object: Literal["webhook_endpoint"] = "webhook_endpoint"
    id: str
    deleted: Literal[True] = True


class DeliveryView(BaseModel):
    object: Literal["webhook_delivery"] = "webhook_delivery"
    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    attempt: int = Field(description="1 for the first try; a resend starts again at 1")
    status: Literal["succeeded", "failed"]
    response_status: int | None = Field(description="The receiver's HTTP status, if it answered")
    latency_ms: int
    error: str | None = Field(description="timeout, connect_error, http_<status>, blocked_destination, ...")
    attempted_at: str
    next_attempt_at: str | None = Field(description="When the next attempt is due (failed, not final)")
    final: bool = Field(description="The last attempt failed: the task went to the dead-letter queue")
    resend: bool


class DeliveryList(BaseModel):
    object: Literal["list"] = "list"
    data: list[DeliveryView]
    next_cursor: str | None


class ResendView(BaseModel):
    object: Literal["event_resend"] = "event_resend"
    event_id: str
    endpoint_ids: list[str] = Field(description="The endpoints a delivery was queued for")


def endpoint_view(endpoint: WebhookEndpoint) -> WebhookEndpointView:
    return WebhookEndpointView(
        id=endpoint.endpoint_id,
        url=endpoint.url,
        event_types=endpoint.event_types,
        description=endpoint.description,
        created_at=iso_from_ms(endpoint.created_at_ms),
        secret_rotated_at=iso_from_ms(endpoint.secret_rotated_at_ms) if endpoint.secret_rotated_at_ms else None,
    )


def created_endpoint_view(endpoint: WebhookEndpoint, secret: str) -> CreatedWebhookEndpointView:
    return CreatedWebhookEndpointView(**endpoint_view(endpoint).model_dump(), secret=secret)


def delivery_view(attempt: DeliveryAttempt) -> DeliveryView:
    return DeliveryView(
        id=attempt.delivery_id,
        endpoint_id=attempt.endpoint_id,
        event_id=attempt.event_id,
        event_type=attempt.event_type,
        attempt=attempt.attempt,
        status=attempt.status.value,
        response_status=attempt.response_status,
        latency_ms=attempt.latency_ms,
        error=attempt.error,
        attempted_at=iso_from_ms(attempt.attempted_at_ms),
        next_attempt_at=iso_from_ms(attempt.next_attempt_at_ms) if attempt.next_attempt_at_ms else None,
        final=attempt.final,
        resend=attempt.resend,
    )
