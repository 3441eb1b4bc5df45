"""moto's DynamoDB client held to rules real DynamoDB enforces and moto does not, with a request log.

moto accepts an expression value or name no expression uses, an empty value map, two operations
on one item in a transaction and transactions of any size; DynamoDB refuses all of them with a
ValidationException. Every request the webhooks store sends in these tests passes through here.
"""

from __future__ import annotations

import re
from typing import Any

_EXPRESSIONS = (
    "KeyConditionExpression",
    "FilterExpression",
    "ConditionExpression",
    "UpdateExpression",
    "ProjectionExpression",
)
_TRANSACTION_MAX = 100


def check_request(request: dict[str, Any]) -> None:
    text = " ".join(str(request.get(k, "")) for k in _EXPRESSIONS)
    for field in ("ExpressionAttributeValues", "ExpressionAttributeNames"):
        placeholders = request.get(field)
        if placeholders is None:
            continue
        assert placeholders, f"DynamoDB refuses an empty {field}"
        unused = [p for p in placeholders if not re.search(re.escape(p) + r"(?![A-Za-z0-9_])", text)]
        assert not unused, f"DynamoDB refuses unused {field}: {unused}"


def _key(request: dict[str, Any]) -> tuple[str, str, str]:
    key = request.get("Key") or request["Item"]
    return request["TableName"], key["pk"]["S"], key["sk"]["S"]


class StrictDynamoDB:
    def __init__(self, db: Any) -> None:
        self._db = db
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def reads(self) -> list[tuple[str, str]]:
        """(operation, partition key) of every read since the log was last cleared."""
        found = []
        for operation, request in self.requests:
            if operation == "GetItem":
                found.append((operation, request["Key"]["pk"]["S"]))
            elif operation == "Query":
                found.append((operation, request["ExpressionAttributeValues"][":pk"]["S"]))
        return found

    def _single(self, operation: str, request: dict[str, Any]) -> None:
        self.requests.append((operation, request))
        check_request(request)

    def get_item(self, **request: Any) -> Any:
        self._single("GetItem", request)
        return self._db.get_item(**request)

    def query(self, **request: Any) -> Any:
        self._single("Query", request)
        return self._db.query(**request)

    def put_item(self, **request: Any) -> Any:
        self._single("PutItem", request)
        return self._db.put_item(**request)

    def update_item(self, **request: Any) -> Any:
        self._single("UpdateItem", request)
        return self._db.update_item(**request)

    def delete_item(self, **request: Any) -> Any:
        self._single("DeleteItem", request)
        return self._db.delete_item(**request)

    def transact_write_items(self, **request: Any) -> Any:
        self.requests.append(("TransactWriteItems", request))
        operations = request["TransactItems"]
        assert 1 <= len(operations) <= _TRANSACTION_MAX, f"{len(operations)} operations in one transaction"
        keys = []
        for operation in operations:
            ((action, body),) = operation.items()
            assert action in ("Put", "Update", "Delete", "ConditionCheck")
            if action == "ConditionCheck":
                assert body.get("ConditionExpression")
            check_request(body)
            keys.append(_key(body))
        assert len(set(keys)) == len(keys), "DynamoDB refuses two operations on one item in a transaction"
        token = request.get("ClientRequestToken")
        assert token is None or 1 <= len(token) <= 36
        return self._db.transact_write_items(**request)
