"""Every log line of the layer reaches CloudWatch as the running function's JSON.

Lambda's Python runtime puts one plain-text handler on the root logger at WARNING. A line logged
through a plain `logging` logger goes there: INFO is dropped, the rest is text without the
service, the correlation id or the handler's keys. The layer's loggers are children of the
function's Powertools Logger instead, whichever function imports them; these tests run the
function in a fresh interpreter with the runtime's root logger to see what CloudWatch would get.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest

from bench.samples import payout_body
from sandbox.beilypay.app import create_app as create_beilypay_app
from sandbox.beilypay.config import BeilyPayConfig
from sandbox.common.server import RunningServer, serve_in_thread
from tests.support.lambda_container import BeilyPayAccount, run_in_container
from tests.support.template import ROOT

LAYER = ROOT / "layers" / "paygate"
PAYOUT_ACCOUNT = payout_body()["account"]


@pytest.fixture(scope="module")
def beilypay_sandbox() -> Iterator[RunningServer]:
    server = serve_in_thread(create_beilypay_app(BeilyPayConfig(time_scale=0.01, payout_delay_s=5.0)))
    yield server
    server.stop()


@pytest.fixture
def beilypay_account(beilypay_sandbox: RunningServer) -> BeilyPayAccount:
    account = BeilyPayAccount(
        app_id=int(uuid.uuid4().int % 9_000_000_000) + 1_000_000_000,
        merchant_id=int(uuid.uuid4().int % 2_000_000_000) + 1,
        secret=uuid.uuid4().hex,
    )
    response = httpx.post(
        f"{beilypay_sandbox.url}/_sandbox/apps",
        json={**account.__dict__, "balance": 10_000_000},
    )
    assert response.status_code in (200, 201), response.text
    return account


def _payout_event() -> dict[str, object]:
    event: dict[str, object] = json.loads((ROOT / "events" / "create_payout.json").read_text())
    event["body"] = json.dumps(payout_body("PO-LOG-1"))
    return event


def test_a_payout_logs_the_provider_call_as_the_payout_functions_json_with_its_correlation_id(
    beilypay_account: BeilyPayAccount, beilypay_sandbox: RunningServer
) -> None:
    event = _payout_event()

    run = run_in_container(
        "payout", "PayoutFunction", event, beilypay=beilypay_account, beilypay_url=beilypay_sandbox.url
    )

    assert run.result["statusCode"] == 201, run.result
    line = run.line("beilypay payout create")  # logged by paygate.providers.beilypay
    assert line["level"] == "INFO"
    assert line["service"] == "paygate-payout"
    assert line["correlation_id"] == event["requestContext"]["requestId"]  # type: ignore[index]
    assert line["function_request_id"] == run.request_id
    assert line["out_order_no"] == "PO-LOG-1"
    assert line["account"].endswith(PAYOUT_ACCOUNT[-4:])


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_payout_logs_no_account_number_contact_data_or_secret(
    beilypay_account: BeilyPayAccount, beilypay_sandbox: RunningServer, level: str
) -> None:
    run = run_in_container(
        "payout",
        "PayoutFunction",
        _payout_event(),
        beilypay=beilypay_account,
        beilypay_url=beilypay_sandbox.url,
        log_level=level,
    )

    assert run.result["statusCode"] == 201, run.result
    assert any(line["message"] == "beilypay payout create" for line in run.json_lines())
    stream = "\n".join(run.lines)
    body = payout_body()
    for needle in (body["account"], body["email"], body["mobile"], beilypay_account.secret):
        assert needle not in stream


# Imports every module of the layer under a function's service name and the runtime's root
# logger, then logs once at INFO through every logger a module holds, inside an invocation.
_EVERY_MODULE = """
import json, logging, pkgutil, sys, importlib
from paygate_local._bootstrap import configure_runtime_logging
configure_runtime_logging(sys.stdout)
import paygate
modules = [importlib.import_module(m.name) for m in pkgutil.walk_packages(paygate.__path__, "paygate.")]
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from tests.support.lambda_context import FakeLambdaContext
function_logger = Logger()
loggers = {}
for module in modules:
    for name, value in vars(module).items():
        if isinstance(value, (Logger, logging.Logger)) and not value.name.startswith("aws_lambda_powertools"):
            loggers[f"{module.__name__}.{name}"] = value
print("@@loggers " + json.dumps(sorted(loggers)), flush=True)

@function_logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event, context):
    for where, logger in sorted(loggers.items()):
        logger.info("probe", extra={"where": where})

handler({"requestContext": {"requestId": "corr-probe"}}, FakeLambdaContext(aws_request_id="req-probe"))
"""


def test_every_logger_of_the_layer_logs_as_the_functions_json_at_info() -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(LAYER), str(ROOT)]),
        "POWERTOOLS_SERVICE_NAME": "paygate-anything",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "AWS_DEFAULT_REGION": "us-east-1",
    }

    done = subprocess.run(
        [sys.executable, "-c", _EVERY_MODULE], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    loggers = json.loads(next(line for line in lines if line.startswith("@@loggers "))[len("@@loggers ") :])
    assert {
        "paygate.transfers.ledger.logger",
        "paygate.transfers.poller.logger",
        "paygate.reconciliation.core.logger",
    } <= set(loggers)
    probes = {}
    for line in lines:
        if line.startswith("{"):
            entry = json.loads(line)
            probes[entry.get("where")] = entry
    for where in loggers:
        assert where in probes, f"{where} did not log as JSON at INFO:\n{done.stdout}"
        entry = probes[where]
        assert (entry["level"], entry["service"]) == ("INFO", "paygate-anything")
        assert (entry["correlation_id"], entry["function_request_id"]) == ("corr-probe", "req-probe")


def test_no_module_of_the_layer_creates_a_plain_logging_logger() -> None:
    offenders = [
        str(path.relative_to(LAYER))
        for path in sorted((LAYER / "paygate").rglob("*.py"))
        if re.search(r"\bgetLogger\((?!_library\))", path.read_text(encoding="utf-8"))
    ]

    assert offenders == []


# The runtime's root logger at DEBUG (Lambda's advanced logging controls can set it), then one
# request through httpx, as a provider client sends BeeCloud's signed queries, and one secret read.
_LIBRARIES_AT_DEBUG = """
import logging, os, sys
from paygate_local._bootstrap import configure_runtime_logging
configure_runtime_logging(sys.stdout)
logging.getLogger().setLevel(logging.DEBUG)
import paygate.providers.http
import boto3, httpx
from moto import mock_aws
httpx.get(sys.argv[1] + "/_sandbox/health", params={"para": '{"app_sign":"query-signature"}'})
with mock_aws():
    sm = boto3.client("secretsmanager", region_name="us-east-1")
    sm.create_secret(Name="paygate/test/apps/a", SecretString="secret-value")
    assert sm.get_secret_value(SecretId="paygate/test/apps/a")["SecretString"] == "secret-value"
"""


def test_no_request_url_or_secret_value_is_logged_even_with_the_root_logger_at_debug(
    beilypay_sandbox: RunningServer,
) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(LAYER), str(ROOT)]),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }

    done = subprocess.run(
        [sys.executable, "-c", _LIBRARIES_AT_DEBUG, beilypay_sandbox.url],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "query-signature" not in done.stdout + done.stderr
    assert "secret-value" not in done.stdout + done.stderr
