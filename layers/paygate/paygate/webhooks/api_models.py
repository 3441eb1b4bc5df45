"""Webhook API request and response models (the public contract of /webhook-endpoints, /events)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from paygate.clock import iso_from_ms
from paygate.validation import HumanMultilineText
from paygate.webhooks.models import EVENT_TYPES, DeliveryAttempt, WebhookEndpoint, valid_pattern
from paygate.webhooks.urls import MAX_URL_LENGTH

MAX_EVENT_TYPES = 20
EndpointIdPattern = r"^we_[0-9a-f]{24}$"
EventIdPattern = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class CreateWebhookEndpointRequest(BaseModel):
    """POST /webhook-endpoints."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, StringConstraints(min_length=8, max_length=MAX_URL_LENGTH)] = Field(
        description="Where events are POSTed; https (public hosts only)"
    )
    event_types: list[str] = Field(
        min_length=1,
        max_length=MAX_EVENT_TYPES,
        description=f"Types ({', '.join(EVENT_TYPES)}), families ('payout.*') or '*'",
    )
    description: Annotated[str, StringConstraints(max_length=256), HumanMultilineText] | None = Field(
        default=None, description="A note for people: line breaks allowed, no other control or bidi characters"
    )

    @field_validator("event_types")
    @classmethod
    def _catalogue_only(cls, value: list[str]) -> list[str]:
        unknown = [p for p in value if not valid_pattern(p)]
        if unknown:
            raise ValueError(f"unknown event types: {', '.join(sorted(set(unknown)))[:200]}")
        return list(dict.fromkeys(value))


MAX_PREVIOUS_SECRET_S = 7 * 86_400


class RotateSecretRequest(BaseModel):
    """POST /webhook-endpoints/{endpoint_id}/rotate-secret."""

    model_config = ConfigDict(extra="forbid")

    expire_previous_after_s: int = Field(
        default=86_400,
        ge=0,
        le=MAX_PREVIOUS_SECRET_S,
        description="How long the previous secret keeps signing too (0: stop at once; at most 7 days)",
    )


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
