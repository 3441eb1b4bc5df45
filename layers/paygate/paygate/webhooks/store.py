"""The webhooks table: endpoints (per app), stored events (TTL) and the delivery log (TTL).

Keys (pk, sk):
  endpoint  APP#<app_id>                 WHEP#<endpoint_id>
  event     EVT#<app_id>#<event_id>      EVENT              (one partition per event)
  attempt   WHEP#<endpoint_id>           DLV#<ms:013d>#<delivery_id>  (newest first by sk)
`expires_at` (epoch seconds) is the table's TTL attribute on events and attempts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from paygate.store.cursors import decode_cursor as decode_cursor_fields
from paygate.store.cursors import encode_cursor
from paygate.store.items import from_item, to_item, to_values
from paygate.webhooks.models import DeliveryAttempt, StoredEvent, WebhookEndpoint

EVENT_SK = "EVENT"


def endpoint_key(app_id: str, endpoint_id: str) -> dict[str, Any]:
    return to_values({"pk": f"APP#{app_id}", "sk": f"WHEP#{endpoint_id}"})


def event_key(app_id: str, event_id: str) -> dict[str, Any]:
    return to_values({"pk": f"EVT#{app_id}#{event_id}", "sk": EVENT_SK})


def attempts_pk(endpoint_id: str) -> str:
    return f"WHEP#{endpoint_id}"


@dataclass(frozen=True)
class AttemptPage:
    attempts: list[DeliveryAttempt]
    cursor: str | None


def _conditional_failure(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class WebhooksStore:
    """Endpoints, events and attempts; tenancy is in every key (no read crosses apps)."""

    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    # ------------------------------------------------------------------ endpoints
    def put_endpoint(self, endpoint: WebhookEndpoint) -> None:
        item = {"pk": f"APP#{endpoint.app_id}", "sk": f"WHEP#{endpoint.endpoint_id}", **endpoint.model_dump()}
        self._db.put_item(TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)")

    def get_endpoint(self, app_id: str, endpoint_id: str) -> WebhookEndpoint | None:
        response = self._db.get_item(TableName=self._table, Key=endpoint_key(app_id, endpoint_id), ConsistentRead=True)
        item = response.get("Item")
        return WebhookEndpoint.model_validate(_strip_keys(from_item(item))) if item else None

    def list_endpoints(self, app_id: str) -> list[WebhookEndpoint]:
        """Oldest first; an app has at most a few (WEBHOOK_MAX_ENDPOINTS), so no paging."""
        endpoints: list[WebhookEndpoint] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_values({":pk": f"APP#{app_id}", ":prefix": "WHEP#"}),
            "ConsistentRead": True,
        }
        while True:
            response = self._db.query(**request)
            endpoints.extend(WebhookEndpoint.model_validate(_strip_keys(from_item(i))) for i in response["Items"])
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return sorted(endpoints, key=lambda e: (e.created_at_ms, e.endpoint_id))

    def delete_endpoint(self, app_id: str, endpoint_id: str) -> bool:
        try:
            self._db.delete_item(
                TableName=self._table,
                Key=endpoint_key(app_id, endpoint_id),
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as error:
            if _conditional_failure(error):
                return False
            raise
        return True

    def take_rotation_lease(self, app_id: str, endpoint_id: str, *, now_ms: int, until_ms: int) -> bool:
        """One secret rotation at a time per endpoint (its read-modify-write must not interleave)."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=endpoint_key(app_id, endpoint_id),
                UpdateExpression="SET rotating_until = :until",
                ConditionExpression="attribute_exists(pk) AND "
                "(attribute_not_exists(rotating_until) OR rotating_until < :now)",
                ExpressionAttributeValues=to_values({":until": until_ms, ":now": now_ms}),
            )
        except ClientError as error:
            if _conditional_failure(error):
                return False
            raise
        return True

    def release_rotation_lease(self, app_id: str, endpoint_id: str, *, rotated_at_ms: int | None) -> None:
        update = "REMOVE rotating_until" + (" SET secret_rotated_at_ms = :at" if rotated_at_ms else "")
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": endpoint_key(app_id, endpoint_id),
            "UpdateExpression": update,
            "ConditionExpression": "attribute_exists(pk)",
        }
        if rotated_at_ms:
            request["ExpressionAttributeValues"] = to_values({":at": rotated_at_ms})
        try:
            self._db.update_item(**request)
        except ClientError as error:
            if not _conditional_failure(error):  # deleted meanwhile: nothing to release
                raise

    # ------------------------------------------------------------------ events
    def record_event(self, event: StoredEvent, *, expires_at: int) -> bool:
        """Store the event unless it was already fanned out; False = a duplicate to skip."""
        item = {"pk": f"EVT#{event.app_id}#{event.event_id}", "sk": EVENT_SK, **event.model_dump()}
        item |= {"expires_at": expires_at, "fanned_out": False}
        try:
            self._db.put_item(
                TableName=self._table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk) OR fanned_out = :false",
                ExpressionAttributeValues=to_values({":false": False}),
            )
        except ClientError as error:
            if _conditional_failure(error):
                return False
            raise
        return True

    def mark_fanned_out(self, app_id: str, event_id: str) -> None:
        self._db.update_item(
            TableName=self._table,
            Key=event_key(app_id, event_id),
            UpdateExpression="SET fanned_out = :true",
            ExpressionAttributeValues=to_values({":true": True}),
        )

    def get_event(self, app_id: str, event_id: str) -> StoredEvent | None:
        response = self._db.get_item(TableName=self._table, Key=event_key(app_id, event_id))
        item = response.get("Item")
        return StoredEvent.model_validate(_strip_keys(from_item(item))) if item else None

    # ------------------------------------------------------------------ delivery log
    def put_attempt(self, attempt: DeliveryAttempt, *, expires_at: int) -> None:
        item = {
            "pk": attempts_pk(attempt.endpoint_id),
            "sk": f"DLV#{attempt.attempted_at_ms:013d}#{attempt.delivery_id}",
            **attempt.model_dump(mode="json"),
            "expires_at": expires_at,
        }
        self._db.put_item(TableName=self._table, Item=to_item(item))

    def list_attempts(self, endpoint_id: str, *, limit: int, cursor: str | None = None) -> AttemptPage:
        """Newest first; the cursor is only valid for the endpoint it was issued for."""
        pk = attempts_pk(endpoint_id)
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": to_values({":pk": pk, ":prefix": "DLV#"}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(cursor, pk)
        response = self._db.query(**request)
        attempts = [DeliveryAttempt.model_validate(_strip_keys(from_item(i))) for i in response["Items"]]
        last = response.get("LastEvaluatedKey")
        return AttemptPage(attempts, encode_cursor(from_item(last)) if last else None)


def _strip_keys(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("pk", "sk", "expires_at", "fanned_out", "rotating_until")}


_SORT_KEY = re.compile(r"DLV#[0-9]{13}#dlv_[0-9A-Za-z]{1,64}")


def decode_cursor(cursor: str, expected_pk: str) -> dict[str, Any]:
    """Only a cursor of this endpoint's delivery log (InvalidCursorError, a ValueError, otherwise)."""
    fields = decode_cursor_fields(cursor, {"pk": re.compile(re.escape(expected_pk)), "sk": _SORT_KEY})
    return to_values({name: match.group(0) for name, match in fields.items()})
