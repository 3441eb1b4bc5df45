"""bench_load on the real local stack, shrunk: 2 clients for 2 s, one round of the mixed workload.

Asserts what holds on any machine (answers, pools, memory read, cleanup), never a timing.
"""

from __future__ import annotations

import json

import pytest

from bench import load as bench_load
from paygate_local.stack import REPO_ROOT
from paygate_local.template import resolve_template

pytestmark = pytest.mark.e2e


def test_a_short_run_answers_201_reads_every_functions_peak_rss_and_leaves_nothing_behind(tmp_path, capsys):
    out = tmp_path / "load.json"

    small = ["--clients", "2", "--seconds", "2", "--warmup", "0.5", "--max-workers", "2", "--rounds", "1", "--quick"]

    status = bench_load.main([*small, "--json", str(out)])

    result = json.loads(out.read_text())
    assert status == 0, capsys.readouterr().out
    throughput = result["throughput"]
    assert throughput["requests"] > 0
    assert set(throughput["status_counts"]) == {"201"}
    assert set(throughput["warmup_status_counts"]) == {"201"}
    assert 1 <= throughput["workers"]["CreateBill"] <= 2  # the pool never outgrows --max-workers
    assert throughput["cpu_seconds"]["workers CreateBill"] > 0
    functions = resolve_template(REPO_ROOT / "template.yaml").functions
    assert set(result["memory"]) == {logical_id.removesuffix("Function") for logical_id in functions}
    for name, row in result["memory"].items():
        assert row["peak_rss_mb"] > 0, name
        assert row["configured_mb"] == functions[row["logical_id"]].memory_size
        assert row["suggested_mb"] >= row["floor_mb"] > row["peak_rss_mb"]
    assert result["mixed"]["unexpected"] == []
    assert result["stray_processes"] == []
    assert "req/s" in capsys.readouterr().out
