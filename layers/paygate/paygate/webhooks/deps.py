"""Per-container singletons of the webhook functions.

The sender (and so httpx) is imported by `dispatcher()` only: the endpoints API never sends.
"""

from __future__ import annotations

from functools import cache

from paygate.aws import client
from paygate.credentials import SigningSecretStore
from paygate.webhooks.config import get_webhook_settings
from paygate.webhooks.dispatch import Dispatcher
from paygate.webhooks.endpoints import EndpointService
from paygate.webhooks.queue import DeliveryQueue
from paygate.webhooks.store import WebhooksStore


@cache
def webhooks_store() -> WebhooksStore:
    return WebhooksStore(client("dynamodb"), get_webhook_settings().webhooks_table)


@cache
def delivery_queue() -> DeliveryQueue:
    return DeliveryQueue(client("sqs"), get_webhook_settings().deliveries_queue_url)


@cache
def signing_secrets() -> SigningSecretStore:
    settings = get_webhook_settings()
    return SigningSecretStore(client("secretsmanager"), settings.secrets_prefix, max_age_s=settings.secrets_max_age_s)


@cache
def endpoint_service() -> EndpointService:
    return EndpointService(webhooks_store(), signing_secrets(), delivery_queue(), get_webhook_settings())


@cache
def dispatcher() -> Dispatcher:
    from paygate.webhooks.sender import post

    return Dispatcher(webhooks_store(), delivery_queue(), signing_secrets(), get_webhook_settings(), post)


def clear_caches() -> None:
    """A fresh 'container' (tests)."""
    get_webhook_settings.cache_clear()
    for factory in (webhooks_store, delivery_queue, signing_secrets, endpoint_service, dispatcher):
        factory.cache_clear()
