"""Merchant apps: identity, key hash and provider account ids (secrets live in Secrets Manager)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from paygate.models import App
from paygate.store.items import from_item, to_item, to_values


def app_pk(app_id: str) -> str:
    return f"APP#{app_id}"


class AppsStore:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def get(self, app_id: str) -> App | None:
        response = self._db.get_item(TableName=self._table, Key={"pk": {"S": app_pk(app_id)}})
        item = response.get("Item")
        return App.model_validate(from_item(item)) if item else None

    def all(self) -> Iterator[App]:
        """Every app (a paginated Scan): for operator jobs such as reconciliation, never for requests."""
        request: dict[str, Any] = {"TableName": self._table}
        while True:
            response = self._db.scan(**request)
            for item in response.get("Items", []):
                yield App.model_validate(from_item(item))
            if not response.get("LastEvaluatedKey"):
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def create(self, app: App) -> None:
        self._db.put_item(
            TableName=self._table,
            Item=to_item({"pk": app_pk(app.app_id), **app.model_dump(mode="json")}),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def replace_key_hash(self, app_id: str, key_hash: str, now_ms: int) -> bool:
        """Rotation: the old key stops working the moment this write lands."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": app_pk(app_id)}},
                UpdateExpression="SET key_hash = :h, key_rotated_at_ms = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_values({":h": key_hash, ":now": now_ms}),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def set_usage_key(self, app_id: str, usage_key: str) -> bool:
        """Once per app: False if the app is gone or already has one (the caller reads which)."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": app_pk(app_id)}},
                UpdateExpression="SET usage_key = :k",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(usage_key)",
                ExpressionAttributeValues=to_values({":k": usage_key}),
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True
