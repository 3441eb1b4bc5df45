"""The dispatcher's logic: fan an event out to the app's endpoints, deliver one task, decide retries.

No boto3 or httpx here: the store, queue, secrets and sender are passed in.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Logger

from paygate.clock import now_ms
from paygate.credentials import SecretsUnavailableError, SigningSecretStore
from paygate.settings import WebhookSettings
from paygate.webhooks.models import (
    AttemptStatus,
    DeliveryAttempt,
    DeliveryTask,
    SendResult,
    StoredEvent,
    WebhookEndpoint,
    retry_delay_s,
)
from paygate.webhooks.queue import DeliveryQueue
from paygate.webhooks.store import WebhooksStore
from paygate.webhooks.verify import EVENT_ID_HEADER, SCHEME, SIGNATURE_HEADER, compute_signature

logger = Logger(child=True)

Sender = Callable[..., Awaitable[SendResult]]


class Outcome(StrEnum):
    DELIVERED = "delivered"  # 2xx: the message is deleted
    RETRY = "retry"  # failed: the message comes back after `retry_in_s`
    DEAD = "dead"  # failed for the last time: the message goes to the DLQ
    DROPPED = "dropped"  # the endpoint was deleted meanwhile: nothing to do


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    retry_in_s: int = 0


def signature_header(secrets: list[str], timestamp: int, payload: bytes) -> str:
    """t=<unix>,v1=<hex>[,v1=<hex>...]: one v1 per active secret (rotation)."""
    return ",".join([f"t={timestamp}", *(f"{SCHEME}={compute_signature(s, timestamp, payload)}" for s in secrets)])


def event_payload(detail: dict[str, Any]) -> str:
    """The body receivers get: paygate's versioned event (event_id, type, app_id, occurred_at, data)."""
    return json.dumps(detail, ensure_ascii=False, separators=(",", ":"))


def tasks_for(event: StoredEvent, endpoints: list[WebhookEndpoint], *, resend: bool = False) -> list[DeliveryTask]:
    return [
        DeliveryTask(
            app_id=event.app_id,
            endpoint_id=endpoint.endpoint_id,
            event_id=event.event_id,
            event_type=event.event_type,
            payload=event.payload,
            resend=resend,
        )
        for endpoint in endpoints
        if endpoint.subscribes_to(event.event_type)
    ]


class Dispatcher:
    def __init__(
        self,
        store: WebhooksStore,
        queue: DeliveryQueue,
        secrets: SigningSecretStore,
        settings: WebhookSettings,
        send: Sender,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._queue = queue
        self._secrets = secrets
        self._settings = settings
        self._send = send
        self._clock = clock

    def expires_at(self, at_ms: int) -> int:
        return at_ms // 1000 + self._settings.event_ttl_days * 86_400

    # ------------------------------------------------------------------ fan-out
    def fan_out(self, detail: dict[str, Any]) -> int:
        """Store the event (for resends), then one task per subscribed endpoint. Returns the count.

        An event id already fanned out is skipped: paygate republishes an event when its trigger
        repeats, and EventBridge itself delivers at least once.
        """
        app_id, event_id, event_type = detail.get("app_id"), detail.get("event_id"), detail.get("type")
        if not (isinstance(app_id, str) and isinstance(event_id, str) and isinstance(event_type, str)):
            logger.warning("event without app_id/event_id/type dropped", extra={"event_id": event_id})
            return 0
        now = self._clock()
        event = StoredEvent(
            app_id=app_id, event_id=event_id, event_type=event_type, payload=event_payload(detail), received_at_ms=now
        )
        if not self._store.record_event(event, expires_at=self.expires_at(now)):
            logger.info("duplicate event skipped", extra={"event_id": event_id})
            return 0
        tasks = tasks_for(event, self._store.list_endpoints(app_id))
        self._queue.send(tasks)
        self._store.mark_fanned_out(app_id, event_id)
        return len(tasks)

    # ------------------------------------------------------------------ delivery
    async def deliver(self, task: DeliveryTask, attempt: int) -> Decision:
        """One attempt (1-based, SQS's receive count): POST, record it, decide what happens next."""
        endpoint = await asyncio.to_thread(self._store.get_endpoint, task.app_id, task.endpoint_id)
        if endpoint is None:
            logger.info("endpoint deleted; delivery dropped", extra={"endpoint_id": task.endpoint_id})
            return Decision(Outcome.DROPPED)
        started_ms = self._clock()
        try:
            stored = await asyncio.to_thread(self._secrets.load, task.app_id, task.endpoint_id)
            secrets = stored.active(started_ms // 1000)
        except SecretsUnavailableError:
            logger.exception("signing secret unavailable", extra={"endpoint_id": task.endpoint_id})
            secrets = []
        if secrets:
            result = await self._post(endpoint, task, secrets, attempt, started_ms)
        else:
            result = SendResult(None, 0, "secret_unavailable")
        decision = self._decide(result, attempt)
        record = DeliveryAttempt(
            delivery_id=f"dlv_{uuid.uuid4().hex}",
            app_id=task.app_id,
            endpoint_id=task.endpoint_id,
            event_id=task.event_id,
            event_type=task.event_type,
            attempt=attempt,
            status=AttemptStatus.SUCCEEDED if result.ok else AttemptStatus.FAILED,
            response_status=result.response_status,
            latency_ms=result.latency_ms,
            error=result.error,
            attempted_at_ms=started_ms,
            next_attempt_at_ms=started_ms + result.latency_ms + decision.retry_in_s * 1000
            if decision.outcome is Outcome.RETRY
            else None,
            final=decision.outcome is Outcome.DEAD,
            resend=task.resend,
        )
        await asyncio.to_thread(self._store.put_attempt, record, expires_at=self.expires_at(started_ms))
        logger.info(
            "webhook attempt",
            extra={
                "endpoint_id": task.endpoint_id,
                "event_id": task.event_id,
                "attempt": attempt,
                "response_status": result.response_status,
                "error": result.error,
                "outcome": decision.outcome.value,
            },
        )
        return decision

    async def _post(
        self, endpoint: WebhookEndpoint, task: DeliveryTask, secrets: list[str], attempt: int, started_ms: int
    ) -> SendResult:
        body = task.payload.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature_header(secrets, started_ms // 1000, body),
            EVENT_ID_HEADER: task.event_id,
            "Paygate-Event-Type": task.event_type,
            "Paygate-Delivery-Attempt": str(attempt),
        }
        return await self._send(
            endpoint.url,
            body,
            headers,
            timeout_s=self._settings.timeout_s,
            allow_insecure=self._settings.allow_insecure_urls,
        )

    def _decide(self, result: SendResult, attempt: int) -> Decision:
        if result.ok:
            return Decision(Outcome.DELIVERED)
        if attempt >= self._settings.max_attempts:
            return Decision(Outcome.DEAD)
        delay = retry_delay_s(attempt, base_s=self._settings.retry_base_s, max_s=self._settings.retry_max_s)
        return Decision(Outcome.RETRY, delay)
