"""Checkout sessions in the orders table: the session, and the page token's pointer to it.

Keys: `CHECKOUT#<app_id>#<session_id>` holds the session; `CKPAGE#<sha256(token)>` points the
page's token at it (the page has no API key, only the token). Both are written in one
transaction, so a token never points at nothing and a session is never unreachable.
"""

from __future__ import annotations

import hashlib
from typing import Any

from botocore.exceptions import ClientError

from paygate.models import CheckoutSession
from paygate.store.items import from_item, to_item, to_values


def session_pk(app_id: str, session_id: str) -> str:
    return f"CHECKOUT#{app_id}#{session_id}"


def page_pk(token: str) -> str:
    return "CKPAGE#" + hashlib.sha256(token.encode()).hexdigest()


class CheckoutStore:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def create(self, session: CheckoutSession, token: str) -> None:
        self._db.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item({"pk": session_pk(session.app_id, session.session_id), **session.model_dump()}),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(
                            {"pk": page_pk(token), "app_id": session.app_id, "session_id": session.session_id}
                        ),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    def get(self, app_id: str, session_id: str) -> CheckoutSession | None:
        response = self._db.get_item(
            TableName=self._table, Key={"pk": {"S": session_pk(app_id, session_id)}}, ConsistentRead=True
        )
        item = response.get("Item")
        return _session(from_item(item)) if item else None

    def by_token(self, token: str) -> CheckoutSession | None:
        response = self._db.get_item(TableName=self._table, Key={"pk": {"S": page_pk(token)}}, ConsistentRead=True)
        pointer = response.get("Item")
        if not pointer:
            return None
        found = from_item(pointer)
        return self.get(str(found["app_id"]), str(found["session_id"]))

    def mark_expired(self, session: CheckoutSession, now_ms: int) -> CheckoutSession | None:
        """open -> expired, only once its time is up; None if it was no longer open."""
        return self._transition(
            session,
            "SET #status = :expired",
            "#status = :open AND expires_at_ms <= :now",
            {":expired": "expired", ":open": "open", ":now": now_ms},
        )

    def record_bill(self, session: CheckoutSession, channel: str, bill_no: str) -> CheckoutSession | None:
        """The bill the payer started on a channel; None if the session is no longer open."""
        return self._transition(
            session,
            "SET bills.#channel = :bill_no",
            "#status = :open",
            {":bill_no": bill_no, ":open": "open"},
            names={"#channel": channel},
        )

    def complete(self, session: CheckoutSession, bill_no: str, now_ms: int) -> CheckoutSession | None:
        """Paid by `bill_no`; once. A payment that lands after the expiry still completes it: the
        money is there. None if it was already complete (by this bill or another)."""
        return self._transition(
            session,
            "SET #status = :complete, paid_bill_no = :bill_no, completed_at_ms = :now",
            "#status IN (:open, :expired)",
            {":complete": "complete", ":bill_no": bill_no, ":now": now_ms, ":open": "open", ":expired": "expired"},
        )

    def mark_event_published(self, session: CheckoutSession) -> None:
        self._db.update_item(
            TableName=self._table,
            Key={"pk": {"S": session_pk(session.app_id, session.session_id)}},
            UpdateExpression="SET event_published = :yes",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=to_values({":yes": True}),
        )

    def _transition(
        self,
        session: CheckoutSession,
        update: str,
        condition: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> CheckoutSession | None:
        try:
            response = self._db.update_item(
                TableName=self._table,
                Key={"pk": {"S": session_pk(session.app_id, session.session_id)}},
                UpdateExpression=update,
                ConditionExpression=f"attribute_exists(pk) AND ({condition})",
                ExpressionAttributeNames={"#status": "status", **(names or {})},
                ExpressionAttributeValues=to_values(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise
        return _session(from_item(response["Attributes"]))


def _session(item: dict[str, Any]) -> CheckoutSession:
    item.pop("pk", None)
    return CheckoutSession.model_validate(item)
