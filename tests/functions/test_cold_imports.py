"""What each function loads at cold start: nothing that only other functions or rare paths need.

Each import is time a customer waits at a cold start (docs/performance.md). Checked in a fresh
interpreter per function, with the environment the function gets from the template.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.template import ROOT

PROBE = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import app
print(json.dumps(sorted(sys.modules)))
"""

# Modules no function loads at import: X-Ray (Tracer is never built), Powertools idempotency
# (loaded by the first request that sends an Idempotency-Key).
NEVER_AT_IMPORT = ("aws_xray_sdk", "aws_lambda_powertools.utilities.idempotency")

# Reads and endpoint registration do not call out: these load httpx and the provider modules on
# the first request that needs them (GET /balance), not at every cold start.
NO_HTTP_CLIENT = ("query", "webhook_endpoints")

ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "cold",
    "AWS_SECRET_ACCESS_KEY": "cold",
    "POWERTOOLS_SERVICE_NAME": "cold",
    "POWERTOOLS_METRICS_NAMESPACE": "Cold",
    "ORDERS_TABLE": "orders",
    "APPS_TABLE": "apps",
    "IDEMPOTENCY_TABLE": "idempotency",
    "WEBHOOKS_TABLE": "webhooks",
    "EVENT_BUS_NAME": "bus",
}


def _loaded(function: str) -> set[str]:
    env = {"PATH": os.environ.get("PATH", ""), **ENV}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "functions" / function), str(ROOT / "layers" / "paygate")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return set(json.loads(out))


FUNCTIONS = sorted(path.name for path in (ROOT / "functions").iterdir() if (path / "app.py").exists())


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_loads_tracing_or_idempotency_at_import(function):
    loaded = _loaded(function)
    assert not [name for name in loaded if name.startswith(NEVER_AT_IMPORT)]


@pytest.mark.parametrize("function", NO_HTTP_CLIENT)
def test_functions_that_rarely_call_out_load_httpx_on_demand(function):
    loaded = _loaded(function)
    assert "httpx" not in loaded
    assert "paygate.providers.beecloud" not in loaded
    assert "paygate.providers.beilypay" not in loaded


# BeeCloud-only functions: no BeilyPay adapter, no poller, no reconciliation job at cold start.
BEECLOUD_ONLY = ("create_bill", "refund", "bill_follow_up")


@pytest.mark.parametrize("function", BEECLOUD_ONLY)
def test_beecloud_functions_load_neither_beilypay_nor_reconciliation(function):
    loaded = _loaded(function)
    assert not [n for n in loaded if n.startswith(("paygate.reconciliation", "paygate.providers.beilypay"))]
