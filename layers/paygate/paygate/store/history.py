"""Each order's history in its own table (ORDER_HISTORY_TABLE), append-only, kept 400 days.

Keys (`pk`, `sk`):
- `<app_id>#<kind>#<order_no>`, `<at_ms, 13 digits>#<8 random hex>`: one entry; oldest first is
  a plain Query (the nonce keeps two entries of one millisecond apart);
- `<app_id>#<kind>#<order_no>`, `<group>#<China day>`: how many entries of a capped group
  (paygate.history.cap_group) the order got that day, counted by a conditional ADD.

Digits sort before letters, so a Query for the entries stops short of the counters.

Inside `collected()` (a provider callback: the notification, the status change and the event),
entries wait and go out in one BatchWriteItem when it ends: one round trip instead of one each.
A capped entry still takes its slot first, with its own conditional write.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from paygate.clock import china_date, now_ms
from paygate.history import DAILY_CAP, KEEP_DAYS, Detail, HistoryEntry, cap_group
from paygate.models import OrderKind
from paygate.store.items import from_item, to_item

# A child of the function's Logger: JSON, its service, correlation id and keys, its level.
logger = Logger(child=True)

KEEP_S = KEEP_DAYS * 24 * 3600
_COUNTER_KEEP_S = 2 * 24 * 3600  # a day's counter is needed for that day only
_AFTER_DIGITS = ":"  # the character after "9": every entry's sort key is below it, every counter's above
_BATCH_MAX = 25  # DynamoDB's limit per BatchWriteItem
_BATCH_ATTEMPTS = 3


def history_pk(app_id: str, kind: OrderKind, order_no: str) -> str:
    return f"{app_id}#{kind.value}#{order_no}"


def entry_sk(at_ms: int, nonce: str) -> str:
    return f"{at_ms:013d}#{nonce}"


class OrderHistoryStore:
    """The OrderHistory port on DynamoDB: `record` is best effort, `append` and `entries` raise."""

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        clock: Callable[[], int] = now_ms,
        cap: int = DAILY_CAP,
    ) -> None:
        self._db = client
        self._table = table
        self._clock = clock
        self._cap = cap
        self._waiting: ContextVar[list[dict[str, Any]] | None] = ContextVar("history_waiting", default=None)

    def record(
        self,
        app_id: str,
        kind: OrderKind,
        order_no: str,
        what: str,
        detail: Detail | None = None,
        *,
        at_ms: int | None = None,
    ) -> None:
        """Append unless the entry's daily cap is reached; a failure is logged, never raised."""
        try:
            entry = HistoryEntry(
                app_id=app_id,
                kind=kind,
                order_no=order_no,
                at_ms=self._clock() if at_ms is None else at_ms,
                what=what,
                detail=detail or {},
            )
            group = cap_group(entry.what, entry.detail)
            if group is not None and not self.take_slot(entry, group):
                return
            waiting = self._waiting.get()
            if waiting is None:
                self.append(entry)
            else:
                waiting.append(self._item(entry))
        except Exception as error:
            logger.warning(
                "order history not written",
                extra={"kind": kind.value, "order_no": order_no, "what": what, "error": _error_code(error)},
            )

    def append(self, entry: HistoryEntry) -> None:
        """One PutItem; the random nonce makes it a new item, never an overwrite."""
        self._db.put_item(TableName=self._table, Item=self._item(entry))

    @staticmethod
    def _item(entry: HistoryEntry) -> dict[str, Any]:
        return to_item(
            {
                "pk": history_pk(entry.app_id, entry.kind, entry.order_no),
                "sk": entry_sk(entry.at_ms, secrets.token_hex(4)),
                **entry.model_dump(mode="json"),
                "expires_at": entry.at_ms // 1000 + KEEP_S,
            }
        )

    @contextmanager
    def collected(self) -> Iterator[None]:
        """Entries recorded inside wait, and are written in one BatchWriteItem at the end, even on an error."""
        if self._waiting.get() is not None:  # already collecting: the outer one writes them
            yield
            return
        waiting: list[dict[str, Any]] = []
        token = self._waiting.set(waiting)
        try:
            yield
        finally:
            self._waiting.reset(token)
            self._write_all(waiting)

    def _write_all(self, items: list[dict[str, Any]]) -> None:
        """Best effort, like `record`: what DynamoDB leaves unprocessed is asked again, then logged."""
        for start in range(0, len(items), _BATCH_MAX):
            pending = [{"PutRequest": {"Item": item}} for item in items[start : start + _BATCH_MAX]]
            try:
                for attempt in range(_BATCH_ATTEMPTS):
                    if attempt:
                        time.sleep(0.05 * 2**attempt)
                    response = self._db.batch_write_item(RequestItems={self._table: pending})
                    pending = response.get("UnprocessedItems", {}).get(self._table, [])
                    if not pending:
                        break
                if pending:
                    _not_written(len(pending), "unprocessed")
            except Exception as error:
                _not_written(len(pending), _error_code(error))

    def take_slot(self, entry: HistoryEntry, group: str) -> bool:
        """Count one more `group` entry for the order's China day; False once the cap is reached."""
        try:
            self._db.update_item(
                TableName=self._table,
                Key={
                    "pk": {"S": history_pk(entry.app_id, entry.kind, entry.order_no)},
                    "sk": {"S": f"{group}#{china_date(entry.at_ms)}"},
                },
                UpdateExpression="ADD #count :one SET expires_at = if_not_exists(expires_at, :expires)",
                ConditionExpression="attribute_not_exists(#count) OR #count < :cap",
                ExpressionAttributeNames={"#count": "count"},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":cap": {"N": str(self._cap)},
                    ":expires": {"N": str(entry.at_ms // 1000 + _COUNTER_KEEP_S)},
                },
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def entries(self, app_id: str, kind: OrderKind, order_no: str, limit: int = 200) -> list[HistoryEntry]:
        """The order's first `limit` entries, oldest first (facts of one millisecond in the order they happen)."""
        found: list[HistoryEntry] = []
        start: dict[str, Any] | None = None
        while len(found) < limit:
            params: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND sk < :after_digits",
                "ExpressionAttributeValues": {
                    ":pk": {"S": history_pk(app_id, kind, order_no)},
                    ":after_digits": {"S": _AFTER_DIGITS},
                },
                "ScanIndexForward": True,
                "Limit": limit - len(found),
            }
            if start is not None:
                params["ExclusiveStartKey"] = start
            response = self._db.query(**params)
            for item in response.get("Items", []):
                plain = from_item(item)
                found.append(
                    HistoryEntry(
                        app_id=app_id,
                        kind=kind,
                        order_no=order_no,
                        at_ms=plain["at_ms"],
                        what=plain["what"],
                        detail=plain.get("detail") or {},
                    )
                )
            start = response.get("LastEvaluatedKey")
            if start is None:
                break
        return sorted(found, key=lambda entry: entry.sort_key)


def _not_written(entries: int, error: str) -> None:
    logger.warning("order history not written", extra={"entries": entries, "error": error})


def _error_code(error: Exception) -> str:
    """What went wrong, without the request (the item) or the response's message."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code") or "ClientError")
    return type(error).__name__
