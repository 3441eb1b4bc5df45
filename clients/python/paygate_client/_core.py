"""What the sync and async clients share: operations, request building, retry policy, answers.

Retries: every call is retried on connection failures, timeouts, 429, 5xx and
`409 request_in_progress`, with exponential backoff and full jitter (or the server's
`Retry-After`). Creates are POSTs: each logical create gets one `Idempotency-Key` (yours, or a
fresh UUID) that every retry reuses, so a retried create can never make a second order.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from paygate_client.errors import APIError, error_for

USER_AGENT = "paygate-client-python/0.1.0"
M = TypeVar("M", bound=BaseModel)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_CODES = frozenset({"request_in_progress"})  # a 409 that only says "the first attempt is still running"

# Every operation of the API: method name -> (HTTP method, path template). Checked against docs/openapi.json.
OPERATIONS: dict[str, tuple[str, str]] = {
    "create_bill": ("POST", "/bills"),
    "list_bills": ("GET", "/bills"),
    "get_bill": ("GET", "/bills/{bill_no}"),
    "refresh_bill": ("POST", "/bills/{bill_no}/refresh"),
    "create_refund": ("POST", "/refunds"),
    "list_refunds": ("GET", "/refunds"),
    "get_refund": ("GET", "/refunds/{refund_no}"),
    "refresh_refund": ("POST", "/refunds/{refund_no}/refresh"),
    "create_payout": ("POST", "/payouts"),
    "list_payouts": ("GET", "/payouts"),
    "get_payout": ("GET", "/payouts/{out_order_no}"),
    "create_collection": ("POST", "/collections"),
    "list_collections": ("GET", "/collections"),
    "get_collection": ("GET", "/collections/{out_order_no}"),
    "get_balance": ("GET", "/balance"),
    "create_webhook_endpoint": ("POST", "/webhook-endpoints"),
    "list_webhook_endpoints": ("GET", "/webhook-endpoints"),
    "get_webhook_endpoint": ("GET", "/webhook-endpoints/{endpoint_id}"),
    "delete_webhook_endpoint": ("DELETE", "/webhook-endpoints/{endpoint_id}"),
    "rotate_webhook_secret": ("POST", "/webhook-endpoints/{endpoint_id}/rotate-secret"),
    "list_deliveries": ("GET", "/webhook-endpoints/{endpoint_id}/deliveries"),
    "resend_event": ("POST", "/events/{event_id}/resend"),
    "create_checkout_session": ("POST", "/checkout/sessions"),
    "get_checkout_session": ("GET", "/checkout/sessions/{session_id}"),
}
# POSTs the API does not deduplicate: a retry after an answer was lost could create a second one,
# so they are only retried when the server certainly did not process them (429, 503).
NOT_IDEMPOTENT = frozenset({"create_webhook_endpoint", "rotate_webhook_secret"})
# Creates deduplicated by the API through the Idempotency-Key header.
KEYED_CREATES = frozenset(
    {"create_bill", "create_refund", "create_payout", "create_collection", "create_checkout_session"}
)


@dataclass(frozen=True)
class RetryPolicy:
    """`max_retries` retries after the first attempt; waits grow base * 2^n up to `max_backoff_s`."""

    max_retries: int = 3
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """How long to wait before retry number `attempt` (1-based)."""
        if response is not None:
            retry_after = _retry_after(response)
            if retry_after is not None:
                return min(retry_after, self.max_backoff_s)
        ceiling = min(self.max_backoff_s, self.backoff_s * (2 ** (attempt - 1)))
        return self.rng.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class Call:
    """One logical API call: the same method, URL, body and headers for every attempt."""

    operation: str
    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("Idempotency-Key")


def build_call(
    operation: str,
    *,
    path_params: dict[str, str] | None = None,
    query: dict[str, Any] | None = None,
    body: BaseModel | None = None,
    idempotency_key: str | None = None,
) -> Call:
    method, template = OPERATIONS[operation]
    path = template.format(**{k: quote(v, safe="") for k, v in (path_params or {}).items()})
    params = {k: _query_value(v) for k, v in (query or {}).items() if v is not None}
    headers: dict[str, str] = {}
    payload = None
    if body is not None:
        payload = json.dumps(body.model_dump(mode="json", exclude_none=True), ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json"
    if operation in KEYED_CREATES:
        headers["Idempotency-Key"] = idempotency_key or str(uuid.uuid4())
    return Call(operation, method, path, params, payload, headers)


def retry_after_failure(call: Call, error: httpx.TransportError) -> bool:
    """No answer: safe to retry unless the request may have been processed by a non-idempotent POST."""
    if call.operation in NOT_IDEMPOTENT:
        return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
    return True


def should_retry(call: Call, response: httpx.Response) -> bool:
    if call.operation in NOT_IDEMPOTENT:
        return response.status_code in (429, 503)
    if response.status_code in RETRY_STATUSES:
        return True
    return response.status_code == 409 and _error_code(response) in RETRY_CODES


def parse(call: Call, response: httpx.Response, model: type[M]) -> M:
    """The typed answer, or the typed error carrying the API's code."""
    if response.status_code < 400:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as error:
            raise error_for(500)(
                response.status_code, "unexpected_response", f"the answer is not a {model.__name__}: {error}"
            ) from error
    raise api_error(call, response)


def api_error(call: Call, response: httpx.Response) -> APIError:
    code, message, details, request_id = "http_error", response.reason_phrase or "error", None, None
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or message)
        details = error.get("details")
        request_id = error.get("request_id")
    elif response.status_code == 403:  # API Gateway's own answer for a route it does not have
        code = "route_not_found"
    return error_for(response.status_code)(
        response.status_code,
        code,
        message,
        details=details,
        request_id=request_id,
        idempotency_key=call.idempotency_key,
    )


def _error_code(response: httpx.Response) -> str | None:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    return str(error.get("code")) if isinstance(error, dict) else None


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _query_value(value: Any) -> str:
    if hasattr(value, "isoformat"):
        text: str = value.isoformat()
        return text
    if hasattr(value, "value"):
        return str(value.value)
    return str(value)
