"""One handler invocation in a fresh interpreter that logs like a Lambda container.

In Lambda every function has a process of its own, with its environment set before anything is
imported, and the Python runtime's root logger: one handler (plain text with the request id) and
level WARNING. A pytest process imports every function with whatever environment the first import
saw, and pytest's own handlers sit on the root logger, so what reaches CloudWatch can only be seen
here. `run_in_container` starts `python -m tests.support.lambda_container` with a spec on stdin;
that process sets up the runtime's root logger (the local stack's workers do the same), provisions
a moto account (the template's tables, bus and poller state machine, one app with a BeilyPay
account), imports the function and invokes it once. Its stdout is the function's log stream.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paygate_local._bootstrap import configure_runtime_logging, set_request_id

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
STAGE = "test"
RESULT_MARK = "@@result "


@dataclass(frozen=True)
class BeilyPayAccount:
    app_id: int
    merchant_id: int
    secret: str


@dataclass
class ContainerRun:
    """What one invocation printed (the log stream, stdout and stderr) and returned."""

    lines: list[str]
    result: Any
    request_id: str

    def json_lines(self) -> list[dict[str, Any]]:
        """Every structured log line (Powertools JSON; EMF metric blobs excluded)."""
        found = []
        for line in self.lines:
            try:
                parsed = json.loads(line)
            except ValueError:
                continue
            if isinstance(parsed, dict) and "level" in parsed:
                found.append(parsed)
        return found

    def line(self, message: str) -> dict[str, Any]:
        matches = [entry for entry in self.json_lines() if entry.get("message") == message]
        assert len(matches) == 1, f"{message!r} logged {len(matches)} times as JSON; the stream:\n" + "\n".join(
            self.lines
        )
        return matches[0]


def function_service_name(logical_id: str) -> str:
    from tests.support.template import template

    variables = template()["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
    return str(variables["POWERTOOLS_SERVICE_NAME"])


def run_in_container(
    function: str,
    logical_id: str,
    event: dict[str, Any],
    *,
    beilypay: BeilyPayAccount,
    beilypay_url: str,
    log_level: str = "INFO",
    timeout_s: float = 60.0,
) -> ContainerRun:
    """Invoke functions/<function>/app.py once in its own interpreter; the event's Authorization
    header gets the API key of the app the container provisions."""
    request_id = str(uuid.uuid4())
    spec = {
        "function": function,
        "event": event,
        "request_id": request_id,
        "beilypay": {"app_id": beilypay.app_id, "merchant_id": beilypay.merchant_id, "secret": beilypay.secret},
        "env": {
            "POWERTOOLS_SERVICE_NAME": function_service_name(logical_id),
            "POWERTOOLS_LOG_LEVEL": log_level,
            "POWERTOOLS_METRICS_NAMESPACE": "PaygateTest",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_LAMBDA_FUNCTION_NAME": f"paygate-{function}",
            "BEILYPAY_BASE_URL": beilypay_url,
            "PUBLIC_BASE_URL": "http://127.0.0.1:9",
        },
    }
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "paygate"), str(ROOT)]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.lambda_container"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout_s,
        check=False,
    )
    lines = (done.stdout + done.stderr).splitlines()
    results = [line[len(RESULT_MARK) :] for line in lines if line.startswith(RESULT_MARK)]
    stream = [line for line in lines if not line.startswith(RESULT_MARK)]
    assert done.returncode == 0, f"the container failed ({done.returncode}):\n" + "\n".join(lines)
    assert results, "the container returned nothing:\n" + "\n".join(lines)
    return ContainerRun(stream, json.loads(results[0]), request_id)


# ------------------------------------------------------------------------- inside the container


def _provision(beilypay: dict[str, Any]) -> str:
    """The template's tables, the bus and the poller machine on moto, and one app; its API key."""
    import boto3

    from paygate.apps.admin import BeilyPayAccount as AdminBeilyPayAccount
    from paygate.apps.admin import create_app
    from tests.support.template import table_definitions, table_name_in_tests

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    for logical_id, args in table_definitions().items():
        dynamodb.create_table(TableName=table_name_in_tests(logical_id), **args)
    boto3.client("events", region_name=REGION).create_event_bus(Name=os.environ["EVENT_BUS_NAME"])
    definition = (ROOT / "statemachines" / "poll_pending.asl.json").read_text()
    definition = definition.replace(
        "${PollPendingFunctionArn}", f"arn:aws:lambda:{REGION}:123456789012:function:poll-pending"
    )
    os.environ["POLL_STATE_MACHINE_ARN"] = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name="poll-pending", definition=definition, roleArn="arn:aws:iam::123456789012:role/states"
    )["stateMachineArn"]
    _app, api_key, _ = create_app("shop", beecloud=None, beilypay=AdminBeilyPayAccount(**beilypay))
    return api_key


def _invoke(spec: dict[str, Any], api_key: str) -> Any:
    from tests.support.lambda_context import FakeLambdaContext

    path = ROOT / "functions" / spec["function"] / "app.py"
    module_spec = importlib.util.spec_from_file_location("app", path)
    assert module_spec
    assert module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["app"] = module
    module_spec.loader.exec_module(module)

    event = spec["event"]
    if "headers" in event:
        event["headers"]["Authorization"] = f"Bearer {api_key}"
        event["multiValueHeaders"]["Authorization"] = [f"Bearer {api_key}"]
    context = FakeLambdaContext(function_name=os.environ["AWS_LAMBDA_FUNCTION_NAME"], aws_request_id=spec["request_id"])
    set_request_id(spec["request_id"])
    return module.lambda_handler(event, context)


def main() -> None:
    spec = json.loads(sys.stdin.read())
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "PAYGATE_STAGE": STAGE,
            "ORDERS_TABLE": "orders",
            "APPS_TABLE": "apps",
            "IDEMPOTENCY_TABLE": "idempotency",
            "WEBHOOKS_TABLE": "webhooks",
            "EVENT_BUS_NAME": f"paygate-{STAGE}",
            "APP_SECRETS_PREFIX": f"paygate/{STAGE}/apps/",
            **spec["env"],
        }
    )
    configure_runtime_logging(sys.stdout)  # before any import, as the runtime does
    from moto import mock_aws

    with mock_aws():
        api_key = _provision(spec["beilypay"])
        result = _invoke(spec, api_key)
    sys.stdout.flush()
    print(RESULT_MARK + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
