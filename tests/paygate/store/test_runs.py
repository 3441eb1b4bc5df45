"""Reconciliation runs as each app's console keeps them: newest first, rows capped, keys checked."""

from __future__ import annotations

from paygate.store.runs import MAX_ROWS, ReconciliationRunsStore, run_sk
from tests.support.services import console_table


def _run(rows: int, started: int) -> dict:
    return {
        "run_id": f"run-{started}",
        "period_from_ms": started - 1000,
        "period_to_ms": started,
        "started_at_ms": started,
        "finished_at_ms": started + 5,
        "counts": {"fix": 0, "mismatch": rows, "error": 0},
        "rows": [[f"run-{started}", "mismatch", "app_a", "beecloud", "bill", f"B{i}"] for i in range(rows)],
    }


def test_runs_come_back_newest_first_per_app_and_rows_beyond_the_cap_are_counted_not_kept():
    with console_table() as client:
        runs = ReconciliationRunsStore(client, "console")
        runs.put("app_a", 1_000, "run-1000", _run(2, 1_000))
        runs.put("app_a", 2_000, "run-2000", _run(MAX_ROWS + 3, 2_000))
        runs.put("app_b", 3_000, "run-3000", _run(1, 3_000))

        recent = runs.recent("app_a")
        big = runs.get("app_a", run_sk(2_000, "run-2000"))

        assert [r["run_id"] for r in recent] == ["run-2000", "run-1000"]
        assert "rows" not in recent[0]  # the list does not read every run's rows
        assert big is not None
        assert len(big["rows"]) == MAX_ROWS
        assert big["rows_dropped"] == 3
        assert runs.get("app_b", run_sk(2_000, "run-2000")) is None  # another app's key finds nothing
        assert runs.get("app_a", "2000#run#x") is None  # not a key this store hands out
