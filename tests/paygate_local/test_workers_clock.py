"""The local 'containers' share the host's clock, shifted or not (`make test-clock`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paygate_local.template import FunctionSpec
from paygate_local.workers import lambda_environment

pytestmark = pytest.mark.clock

SPEC = FunctionSpec("F", "f", "arn:f", Path("functions/f"), "app.lambda_handler", "python3.13", 3, 128, {}, [])


def test_a_shifted_clock_reaches_the_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LD_PRELOAD", "/x/sleep_fix.so:/usr/lib/faketime/libfaketime.so.1")
    monkeypatch.setenv("FAKETIME", "+3600")
    monkeypatch.setenv("FAKETIME_DONT_FAKE_MONOTONIC", "1")
    env = lambda_environment(SPEC, {})
    assert env["LD_PRELOAD"] == "/x/sleep_fix.so:/usr/lib/faketime/libfaketime.so.1"
    assert (env["FAKETIME"], env["FAKETIME_DONT_FAKE_MONOTONIC"]) == ("+3600", "1")
    assert env["TZ"] == ":UTC"  # like Lambda: the zone stays UTC, only the clock moves


def test_other_preloads_and_variables_stay_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LD_PRELOAD", "/usr/lib/libsomething.so")
    monkeypatch.delenv("FAKETIME", raising=False)
    env = lambda_environment(SPEC, {})
    assert "LD_PRELOAD" not in env
    assert not [k for k in env if k.startswith("FAKETIME")]
