"""Webhook settings: read once per container from the variables the template sets."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SQS_MAX_VISIBILITY_S = 43_200  # 12 h, SQS's ceiling for ChangeMessageVisibility


class WebhookSettings(BaseSettings):
    """Tables, queue, secret prefix and the retry schedule (docs/webhooks.md)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    stage: str = Field(default="dev", alias="PAYGATE_STAGE")
    webhooks_table: str = Field(alias="WEBHOOKS_TABLE")
    deliveries_queue_url: str = Field(default="", alias="WEBHOOK_DELIVERIES_QUEUE_URL")
    secrets_prefix: str = Field(default="paygate/dev/webhooks/", alias="WEBHOOK_SECRETS_PREFIX")
    secrets_max_age_s: int = Field(default=300, ge=0, alias="SECRETS_MAX_AGE_S")
    # Attempt n (n >= 1) failed -> attempt n+1 after min(base * 2^(n-1), max) seconds.
    retry_base_s: int = Field(default=60, ge=0, le=SQS_MAX_VISIBILITY_S, alias="WEBHOOK_RETRY_BASE_S")
    retry_max_s: int = Field(default=SQS_MAX_VISIBILITY_S, ge=0, le=SQS_MAX_VISIBILITY_S, alias="WEBHOOK_RETRY_MAX_S")
    max_attempts: int = Field(default=12, ge=1, le=100, alias="WEBHOOK_MAX_ATTEMPTS")
    timeout_s: float = Field(default=10.0, gt=0, le=30, alias="WEBHOOK_TIMEOUT_S")
    event_ttl_days: int = Field(default=30, ge=1, alias="WEBHOOK_EVENT_TTL_DAYS")
    max_endpoints_per_app: int = Field(default=16, ge=1, alias="WEBHOOK_MAX_ENDPOINTS")
    # Local development only: http:// URLs and loopback/private destinations.
    allow_insecure_urls: bool = Field(default=False, alias="WEBHOOK_ALLOW_INSECURE_URLS")


@lru_cache(maxsize=1)
def get_webhook_settings() -> WebhookSettings:
    """Validated once at cold start; a missing variable fails the first invocation loudly."""
    return WebhookSettings()  # values come from the environment
