"""Reconciliation runs as each app's console shows them, in the console's table.

One item per run and app: `pk=RECON#<app_id>`, `sk=<started_at_ms, 13 digits>#<run_id>`, with
the run's period, the app's counts and its rows (fixes, mismatches, errors) as the report's CSV
columns. Rows beyond `MAX_ROWS` are dropped from the item (it says how many) to keep it far below
DynamoDB's 400 KB; the whole report stays what the Lambda answers and the CLI writes. Kept 400 days.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from paygate.store.items import from_item, to_item

MAX_ROWS = 500
KEEP_S = 400 * 24 * 3600
_SK = re.compile(r"^\d{13}#[A-Za-z0-9_.:-]{1,80}$")


def runs_pk(app_id: str) -> str:
    return f"RECON#{app_id}"


def run_sk(started_at_ms: int, run_id: str) -> str:
    return f"{started_at_ms:013d}#{run_id}"


def is_run_key(value: str) -> bool:
    return bool(_SK.match(value))


class ReconciliationRunsStore:
    def __init__(self, client: Any, table: str) -> None:
        self._db = client
        self._table = table

    def put(self, app_id: str, started_at_ms: int, run_id: str, run: Mapping[str, Any]) -> None:
        """A run is written once; a run repeated under the same id and start replaces its own item."""
        rows = list(run.get("rows", []))
        item = {
            "pk": runs_pk(app_id),
            "sk": run_sk(started_at_ms, run_id),
            **run,
            "rows": rows[:MAX_ROWS],
            "rows_dropped": max(0, len(rows) - MAX_ROWS),
            "expires_at": started_at_ms // 1000 + KEEP_S,
        }
        self._db.put_item(TableName=self._table, Item=to_item(item))

    def recent(self, app_id: str, limit: int = 30) -> list[dict[str, Any]]:
        """The newest runs first, without their rows."""
        response = self._db.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": runs_pk(app_id)}},
            ProjectionExpression="sk, run_id, period_from_ms, period_to_ms, started_at_ms, finished_at_ms, counts",
            ScanIndexForward=False,
            Limit=limit,
        )
        return [from_item(item) for item in response.get("Items", [])]

    def get(self, app_id: str, key: str) -> dict[str, Any] | None:
        if not is_run_key(key):
            return None
        response = self._db.get_item(
            TableName=self._table, Key={"pk": {"S": runs_pk(app_id)}, "sk": {"S": key}}, ConsistentRead=False
        )
        item = response.get("Item")
        return from_item(item) if item else None
