"""Tracing is all or nothing per stack: off, the handler is untouched and X-Ray never loads."""

from __future__ import annotations

import sys

import pytest
from pydantic import ValidationError

from paygate.tracing import traced


def handler(event: dict, context: object) -> dict:
    return {"echo": event}


@pytest.mark.parametrize("mode", [None, "Disabled"])
def test_off_returns_the_handler_itself(monkeypatch, mode):
    if mode is None:
        monkeypatch.delenv("PAYGATE_TRACING", raising=False)
    else:
        monkeypatch.setenv("PAYGATE_TRACING", mode)
    assert traced(handler) is handler


def test_active_wraps_the_handler_with_powertools_tracer(monkeypatch):
    monkeypatch.setenv("PAYGATE_TRACING", "Active")
    # Outside Lambda, Powertools keeps the tracer disabled: nothing is sent to a daemon here.
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    wrapped = traced(handler)

    assert wrapped is not handler
    assert "aws_xray_sdk" in sys.modules
    assert wrapped({"a": 1}, None) == {"echo": {"a": 1}}


def test_an_unknown_mode_fails_at_cold_start_not_silently(monkeypatch):
    monkeypatch.setenv("PAYGATE_TRACING", "active")  # the template only allows Disabled | Active
    with pytest.raises(ValidationError):
        traced(handler)
