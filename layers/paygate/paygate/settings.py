"""Typed configuration, read once per container from the environment the template sets.

Two sets: the money flows' (`Settings`) and the webhook functions' (`WebhookSettings`), which
run without the orders and apps tables.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a function needs to find its resources; logic never reads os.environ."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    stage: str = Field(default="dev", alias="PAYGATE_STAGE")
    orders_table: str = Field(alias="ORDERS_TABLE")
    apps_table: str = Field(alias="APPS_TABLE")
    idempotency_table: str = Field(default="", alias="IDEMPOTENCY_TABLE")
    console_table: str = Field(default="", alias="CONSOLE_TABLE")
    # Each order's history (paygate.store.history); empty: nothing is recorded, nothing is read.
    order_history_table: str = Field(default="", alias="ORDER_HISTORY_TABLE")
    event_bus_name: str = Field(default="", alias="EVENT_BUS_NAME")
    app_secrets_prefix: str = Field(default="paygate/dev/apps/", alias="APP_SECRETS_PREFIX")
    beecloud_base_url: str = Field(default="https://apibj.beecloud.cn", alias="BEECLOUD_BASE_URL")
    beilypay_base_url: str = Field(default="https://service.beilypay.com", alias="BEILYPAY_BASE_URL")
    public_base_url: str | None = Field(default=None, alias="PUBLIC_BASE_URL")
    provider_connect_timeout_s: float = Field(default=2.0, alias="PROVIDER_CONNECT_TIMEOUT_S")
    provider_read_timeout_s: float = Field(default=8.0, alias="PROVIDER_READ_TIMEOUT_S")
    secrets_max_age_s: int = Field(default=300, alias="SECRETS_MAX_AGE_S")
    # How long a container trusts its copy of an app record: the bound on key revocation.
    app_cache_ttl_s: float = Field(default=5.0, ge=0, le=60, alias="APP_CACHE_TTL_S")
    # Per-merchant rate limits (docs/api.md "Rate limits"): the API stage's usage plan, where the
    # operator CLI registers each app's usage key, and the plan's shared key that the authorizer
    # gives apps registered before limits existed.
    usage_plan_id: str = Field(default="", alias="USAGE_PLAN_ID")
    shared_usage_key: str = Field(default="", alias="SHARED_USAGE_KEY")
    # How long a create call may hold a bill's provider lease before a retry may take it over.
    provider_lease_ms: int = Field(default=30_000, alias="PROVIDER_LEASE_MS")
    # The PollPending state machine and its schedule (docs/events.md "Polling"): first wait,
    # doubling up to the cap, until the deadline after which a pending order becomes `unknown`.
    poll_state_machine_arn: str = Field(default="", alias="POLL_STATE_MACHINE_ARN")
    poll_first_wait_s: int = Field(default=30, ge=0, le=900, alias="POLL_FIRST_WAIT_S")
    # The first poll round's queue (empty: the state machine is started at once, with the first wait).
    first_poll_queue_url: str = Field(default="", alias="FIRST_POLL_QUEUE_URL")
    poll_max_wait_s: int = Field(default=28_800, ge=1, alias="POLL_MAX_WAIT_S")
    poll_growth: int = Field(default=4, ge=2, le=10, alias="POLL_GROWTH")
    poll_deadline_s: int = Field(default=86_400, ge=1, alias="POLL_DEADLINE_S")
    # Bill follow-ups (docs/api.md "Lost webhooks"): BillFollowUpQueue's URL (empty: none are
    # queued), the first delay after BeeCloud created the bill, and how many attempts in all.
    bill_follow_up_queue_url: str = Field(default="", alias="BILL_FOLLOW_UP_QUEUE_URL")
    bill_follow_up_s: int = Field(default=300, ge=1, le=900, alias="BILL_FOLLOW_UP_S")
    bill_follow_up_attempts: int = Field(default=3, ge=1, le=10, alias="BILL_FOLLOW_UP_ATTEMPTS")
    # Hosted checkout: the queue of its sessions' expiry timers (empty: a session expires when read).
    checkout_expiry_queue_url: str = Field(default="", alias="CHECKOUT_EXPIRY_QUEUE_URL")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Validated once at cold start; a missing variable fails the first invocation loudly."""
    return Settings()  # values come from the environment


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
