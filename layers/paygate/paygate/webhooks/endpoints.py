"""The API's use cases: register, list, read and delete endpoints; the delivery log; resend."""

from __future__ import annotations

import secrets as random
from collections.abc import Callable

from aws_lambda_powertools import Logger

from paygate.clock import now_ms
from paygate.credentials import SecretGoneError, SigningSecretStore, new_signing_secret
from paygate.errors import ConflictError, InvalidRequestError, NotFoundError
from paygate.settings import WebhookSettings
from paygate.webhooks.dispatch import tasks_for
from paygate.webhooks.models import WebhookEndpoint
from paygate.webhooks.queue import DeliveryQueue
from paygate.webhooks.requests import CreateWebhookEndpointRequest
from paygate.webhooks.store import AttemptPage, WebhooksStore
from paygate.webhooks.urls import UnsafeUrlError, check_endpoint_url

logger = Logger(child=True)

ROTATION_LEASE_MS = 30_000


def new_endpoint_id() -> str:
    return "we_" + random.token_hex(12)


class EndpointService:
    def __init__(
        self,
        store: WebhooksStore,
        secrets: SigningSecretStore,
        queue: DeliveryQueue,
        settings: WebhookSettings,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._secrets = secrets
        self._queue = queue
        self._settings = settings
        self._clock = clock

    def create(self, app_id: str, request: CreateWebhookEndpointRequest) -> tuple[WebhookEndpoint, str]:
        """Secret first, then the endpoint: an endpoint never exists without its secret."""
        try:
            url = check_endpoint_url(request.url, allow_insecure=self._settings.allow_insecure_urls)
        except UnsafeUrlError as error:
            raise InvalidRequestError(str(error), code="invalid_url") from None
        if len(self._store.list_endpoints(app_id)) >= self._settings.max_endpoints_per_app:
            raise ConflictError(
                f"an app may have at most {self._settings.max_endpoints_per_app} webhook endpoints",
                code="too_many_webhook_endpoints",
            )
        endpoint = WebhookEndpoint(
            app_id=app_id,
            endpoint_id=new_endpoint_id(),
            url=url,
            event_types=request.event_types,
            description=request.description,
            created_at_ms=self._clock(),
        )
        secret = new_signing_secret()
        self._secrets.create(app_id, endpoint.endpoint_id, secret)
        try:
            self._store.put_endpoint(endpoint)
        except Exception:
            self._secrets.delete(app_id, endpoint.endpoint_id)
            raise
        return endpoint, secret

    def get(self, app_id: str, endpoint_id: str) -> WebhookEndpoint:
        endpoint = self._store.get_endpoint(app_id, endpoint_id)
        if endpoint is None:
            raise NotFoundError("no webhook endpoint with this id", code="webhook_endpoint_not_found")
        return endpoint

    def delete(self, app_id: str, endpoint_id: str) -> None:
        """The endpoint goes first (deliveries in flight are dropped), then its secret."""
        if not self._store.delete_endpoint(app_id, endpoint_id):
            raise NotFoundError("no webhook endpoint with this id", code="webhook_endpoint_not_found")
        self._secrets.delete(app_id, endpoint_id)

    def rotate_secret(
        self, app_id: str, endpoint_id: str, *, expire_previous_after_s: int
    ) -> tuple[WebhookEndpoint, str]:
        """A new secret signs from now on; the previous one too, for `expire_previous_after_s`."""
        self.get(app_id, endpoint_id)
        now = self._clock()
        if not self._store.take_rotation_lease(app_id, endpoint_id, now_ms=now, until_ms=now + ROTATION_LEASE_MS):
            self.get(app_id, endpoint_id)  # deleted meanwhile -> 404
            raise ConflictError("a rotation of this endpoint's secret is in progress", code="rotation_in_progress")
        secret = new_signing_secret()
        rotated_at: int | None = None
        try:
            self._secrets.rotate(
                app_id,
                endpoint_id,
                secret,
                now_s=now // 1000,
                previous_expires_at=now // 1000 + expire_previous_after_s,
            )
            rotated_at = now
        except SecretGoneError:
            raise NotFoundError("no webhook endpoint with this id", code="webhook_endpoint_not_found") from None
        finally:
            self._store.release_rotation_lease(app_id, endpoint_id, rotated_at_ms=rotated_at)
        logger.info("webhook secret rotated", extra={"endpoint_id": endpoint_id})
        return self.get(app_id, endpoint_id), secret

    def deliveries(self, app_id: str, endpoint_id: str, *, limit: int, cursor: str | None) -> AttemptPage:
        self.get(app_id, endpoint_id)  # tenancy: another app's endpoint is a 404
        try:
            return self._store.list_attempts(endpoint_id, limit=limit, cursor=cursor)
        except ValueError as error:
            raise InvalidRequestError(str(error), code="invalid_cursor") from None

    def resend(self, app_id: str, event_id: str, endpoint_id: str | None = None) -> list[str]:
        """Queue the stored event again for the app's subscribed endpoints (or one of them)."""
        event = self._store.get_event(app_id, event_id)
        if event is None:
            raise NotFoundError("no such event (events are kept 30 days)", code="event_not_found")
        endpoints = [self.get(app_id, endpoint_id)] if endpoint_id else self._store.list_endpoints(app_id)
        tasks = tasks_for(event, endpoints, resend=True)
        if endpoint_id and not tasks:
            raise ConflictError("this endpoint does not subscribe to the event's type", code="not_subscribed")
        self._queue.send(tasks)
        logger.info("event resent", extra={"event_id": event_id, "endpoints": len(tasks)})
        return [t.endpoint_id for t in tasks]
