"""The console's table: its users, their sign-in sessions and each app's audit log.

Keys (`pk`, `sk`):
- `APP#<app_id>`, `USER#<email>`: a console user; `LOGIN#<email>`, `LOGIN`: the pointer from a
  sign-in name to its app. Both are written in one transaction, each only if absent, so an email
  belongs to one user in the whole deployment and a user is never half-created.
- `SESSION#<sha256(token)>`, `SESSION`: a session (the token itself is never stored), removed by
  the table's TTL (`expires_at`, epoch seconds) once it is over.
- `AUDIT#<app_id>`, `<at_ms, 13 digits>#<8 hex>`: one audit entry; newest first is a reverse Query.

Plain dicts in and out: the console's services own the models, this adapter owns keys and conditions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from paygate.store.items import from_item, to_item, to_values

AUDIT_SK = re.compile(r"[0-9]{13}#[0-9a-f]{8}")
_KEY_ATTRIBUTES = ("pk", "sk", "expires_at")


def user_pk(app_id: str) -> str:
    return f"APP#{app_id}"


def user_sk(email: str) -> str:
    return f"USER#{email}"


def login_pk(email: str) -> str:
    return f"LOGIN#{email}"


def session_pk(session_hash: str) -> str:
    return f"SESSION#{session_hash}"


def audit_pk(app_id: str) -> str:
    return f"AUDIT#{app_id}"


def audit_sk(at_ms: int, nonce: str) -> str:
    """Sorts by time (13 digits last until the year 2286); the nonce keeps two entries of one ms apart."""
    return f"{at_ms:013d}#{nonce}"


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    found = from_item(item)
    for name in _KEY_ATTRIBUTES:
        found.pop(name, None)
    return found


def _condition_failed(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class ConsoleStore:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    # ------------------------------------------------------------ users

    def create_user(self, user: Mapping[str, Any]) -> bool:
        """The user and its login pointer, both or neither; False if the email is taken (in any app)."""
        app_id, email = str(user["app_id"]), str(user["email"])
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item({"pk": user_pk(app_id), "sk": user_sk(email), **user}),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": to_item({"pk": login_pk(email), "sk": "LOGIN", "app_id": app_id, "email": email}),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons") or []
            if any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
                return False
            raise
        return True

    def login_app(self, email: str) -> str | None:
        """The app the sign-in name belongs to, or None."""
        response = self._db.get_item(TableName=self._table, Key=_key(login_pk(email), "LOGIN"), ConsistentRead=True)
        item = response.get("Item")
        return str(from_item(item)["app_id"]) if item else None

    def user(self, app_id: str, email: str) -> dict[str, Any] | None:
        response = self._db.get_item(
            TableName=self._table, Key=_key(user_pk(app_id), user_sk(email)), ConsistentRead=True
        )
        item = response.get("Item")
        return _plain(item) if item else None

    def users(self, app_id: str) -> list[dict[str, Any]]:
        """Every user of the app, by email (the sort key's order)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :user)",
            "ExpressionAttributeValues": to_values({":pk": user_pk(app_id), ":user": user_sk("")}),
            "ConsistentRead": True,
        }
        found: list[dict[str, Any]] = []
        while True:
            response = self._db.query(**request)
            found.extend(_plain(item) for item in response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                return found
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def set_user(self, app_id: str, email: str, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        """SET `fields` on an existing user; the user as written, or None if there is none."""
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":f{i}": value for i, value in enumerate(fields.values())}
        update = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
        return self._update_user(app_id, email, update, "attribute_exists(pk)", values, names)

    def record_login(self, app_id: str, email: str, password_hash: str, now_ms: int) -> dict[str, Any] | None:
        """A correct password: the failure count back to 0, only if the user is still enabled,
        unlocked at `now_ms` and has this password; None if any of that changed meanwhile."""
        return self._update_user(
            app_id,
            email,
            "SET failed_logins = :zero",
            "attribute_exists(pk) AND disabled = :no AND locked_until_ms <= :now AND password_hash = :hash",
            {":zero": 0, ":no": False, ":now": now_ms, ":hash": password_hash},
        )

    def count_failed_login(self, app_id: str, email: str, now_ms: int) -> dict[str, Any] | None:
        """One more failure (an atomic ADD: concurrent failures each count once), unless the user
        is locked at `now_ms` (or gone): then None and nothing changes."""
        return self._update_user(
            app_id,
            email,
            "ADD failed_logins :one",
            "attribute_exists(pk) AND locked_until_ms <= :now",
            {":one": 1, ":now": now_ms},
        )

    def lock_user(self, app_id: str, email: str, now_ms: int, until_ms: int, failures: int) -> dict[str, Any] | None:
        """Locked until `until_ms`, the count starting again from 0, if the user has reached
        `failures` and is not locked yet; None when another attempt locked it first."""
        return self._update_user(
            app_id,
            email,
            "SET locked_until_ms = :until, failed_logins = :zero",
            "attribute_exists(pk) AND failed_logins >= :failures AND locked_until_ms <= :now",
            {":until": until_ms, ":zero": 0, ":failures": failures, ":now": now_ms},
        )

    def _update_user(
        self,
        app_id: str,
        email: str,
        update: str,
        condition: str,
        values: Mapping[str, Any],
        names: Mapping[str, str] | None = None,
    ) -> dict[str, Any] | None:
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": _key(user_pk(app_id), user_sk(email)),
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": to_values(dict(values)),
            "ReturnValues": "ALL_NEW",
        }
        if names:
            request["ExpressionAttributeNames"] = dict(names)
        try:
            response = self._db.update_item(**request)
        except ClientError as error:
            if _condition_failed(error):
                return None
            raise
        return _plain(response["Attributes"])

    # ------------------------------------------------------------ sessions

    def create_session(self, session_hash: str, session: Mapping[str, Any], expires_at_s: int) -> bool:
        """False if a session with this hash exists (a token drawn twice: never in practice)."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item=to_item({"pk": session_pk(session_hash), "sk": "SESSION", **session, "expires_at": expires_at_s}),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def session(self, session_hash: str) -> dict[str, Any] | None:
        """Consistent: a session ended a moment ago is gone for the next request too."""
        response = self._db.get_item(
            TableName=self._table, Key=_key(session_pk(session_hash), "SESSION"), ConsistentRead=True
        )
        item = response.get("Item")
        return _plain(item) if item else None

    def touch_session(self, session_hash: str, seen_by_ms: int, now_ms: int, expires_at_s: int) -> bool:
        """Seen at `now_ms` (and due for TTL removal at `expires_at_s`), if it was last seen at or
        before `seen_by_ms`: one write per interval however many requests race; never recreates an
        ended session. False if nothing was written."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key=_key(session_pk(session_hash), "SESSION"),
                UpdateExpression="SET last_seen_ms = :now, expires_at = :ttl",
                ConditionExpression="attribute_exists(pk) AND last_seen_ms <= :seen",
                ExpressionAttributeValues=to_values({":now": now_ms, ":ttl": expires_at_s, ":seen": seen_by_ms}),
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def delete_session(self, session_hash: str) -> None:
        self._db.delete_item(TableName=self._table, Key=_key(session_pk(session_hash), "SESSION"))

    # ------------------------------------------------------------ audit log

    def create_audit_entry(self, app_id: str, sk: str, entry: Mapping[str, Any]) -> bool:
        """False if an entry with this sort key exists (same ms, same nonce: draw another)."""
        try:
            self._db.put_item(
                TableName=self._table,
                Item=to_item({"pk": audit_pk(app_id), "sk": sk, **entry}),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def audit_entries(self, app_id: str, limit: int, before_sk: str | None) -> list[tuple[str, dict[str, Any]]]:
        """Up to `limit` entries (sort key, entry), newest first, older than `before_sk` if given."""
        condition = "pk = :pk AND sk < :before" if before_sk is not None else "pk = :pk"
        values: dict[str, Any] = {":pk": audit_pk(app_id)}
        if before_sk is not None:
            values[":before"] = before_sk
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_values(values),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        found: list[tuple[str, dict[str, Any]]] = []
        while len(found) < limit:
            response = self._db.query(**request)
            found.extend((str(item["sk"]["S"]), _plain(item)) for item in response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
            request["Limit"] = limit - len(found)
        return found[:limit]
