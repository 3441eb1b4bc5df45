"""What a caller asks of webhooks: an endpoint to create, a secret to rotate."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from paygate.validation import HumanMultilineText
from paygate.webhooks.models import EVENT_TYPES, valid_pattern
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
