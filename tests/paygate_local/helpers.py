"""Helpers shared by the local stack's tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from paygate_local.stack import StackConfig

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_TEMPLATE = FIXTURES / "app" / "template.yaml"
INTEGRATION_TIMEOUT_S = 3.0


def free_ports_config(**overrides: Any) -> StackConfig:
    values: dict[str, Any] = {
        "api_port": 0,
        "moto_port": 0,
        "dynamodb_port": 0,
        "beecloud_port": 0,
        "beilypay_port": 0,
        "demo_app": False,
    }
    values.update(overrides)
    return StackConfig(**values)


def aws_client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def eventually(probe: Callable[[], Any], timeout: float = 15.0, interval: float = 0.1) -> Any:
    """Poll `probe` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)
