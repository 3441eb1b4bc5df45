"""Kill points: which worker request takes one, and that each is taken once (the worker side of arm_kill_point)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from paygate_local.workers import BOOTSTRAP, arm_kill_point, fired_kill_points


def _bootstrap() -> ModuleType:
    spec = importlib.util.spec_from_file_location("paygate_local_bootstrap_under_test", BOOTSTRAP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_kill_point_matches_point_method_and_path_prefix_and_fires_once(tmp_path: Path) -> None:
    take = _bootstrap()._take_kill_point
    arm_kill_point(tmp_path, "after_answer", "/1/rest/bill")

    assert take(tmp_path, "before_send", "POST", "/1/rest/bill") is None  # another point
    assert take(tmp_path, "after_answer", "GET", "/1/rest/bills") is None  # another method
    assert take(tmp_path, "after_answer", "POST", "/1/rest/refund") is None  # another path
    assert fired_kill_points(tmp_path) == []
    fired = take(tmp_path, "after_answer", "POST", "/1/rest/bill")
    assert fired is not None
    assert fired_kill_points(tmp_path) == [fired]
    assert take(tmp_path, "after_answer", "POST", "/1/rest/bill") is None  # taken once


def test_each_armed_kill_point_is_one_kill(tmp_path: Path) -> None:
    take = _bootstrap()._take_kill_point
    for _ in range(3):
        arm_kill_point(tmp_path, "before_send", "/v2/trans/create")

    taken = [take(tmp_path, "before_send", "POST", "/v2/trans/create") for _ in range(4)]

    assert sum(t is not None for t in taken) == 3
    assert len(fired_kill_points(tmp_path)) == 3
    assert list(tmp_path.glob("*.json")) == []
