"""`python -m paygate_local invoke`: `sam local invoke` without Docker.

    python -m paygate_local invoke CreateBillFunction -e events/create_bill.json [--env-vars env.json]
                                   [--api-key KEY|demo] [--stack .local/stack.json]

Runs one invocation of a template function in a fresh worker (a cold container: the function's
environment from template.yaml, its layer on the path, the same bootstrap as the local stack's
workers) against the AWS endpoints and provider sandboxes of the running local stack
(`make run`, found through .local/stack.json). Without a running stack it starts a temporary one
for the invocation. The function's answer goes to stdout, its logs and the START/END/REPORT lines
to stderr, as `sam local invoke` prints them. Exit status: 0 when the function answered, 1 when
it raised or timed out (its error is still printed), 2 when nothing could be invoked.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import httpx

from paygate_local import iam
from paygate_local.stack import LocalStack, StackConfig, StackInfo, aws_endpoints_env, local_template
from paygate_local.template import REGION, FunctionSpec, load_yaml
from paygate_local.workers import Worker, lambda_environment

DEMO_KEY = "demo"  # --api-key demo: the stack's demo app's key (.local/stack.json)


class InvokeError(Exception):
    """Nothing was invoked: a usage or environment problem, said in one line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m paygate_local invoke", description="Invoke one function once, like `sam local invoke`."
    )
    parser.add_argument("function", metavar="FunctionLogicalId", help="e.g. CreateBillFunction")
    parser.add_argument("-e", "--event", default=None, help="event JSON file, or - for stdin (default: {})")
    parser.add_argument("-n", "--env-vars", default=None, help="JSON file of environment overrides (sam's format)")
    parser.add_argument(
        "--api-key", default=None, help="set the event's Authorization header to this key; `demo`: the stack's demo app"
    )
    parser.add_argument("--stack", default=".local/stack.json", help="the running stack's stack.json")
    parser.add_argument("--template", default=None, help="template (default: the running stack's)")
    return parser


def read_event(source: str | None, stdin: TextIO) -> Any:
    if source is None:
        return {}
    try:
        text = stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvokeError(f"cannot read the event: {exc}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvokeError(f"the event is not JSON: {exc}") from None


def env_overrides(source: str | None, spec: FunctionSpec) -> dict[str, str]:
    """sam's --env-vars format: {"Parameters": {...}} for every function, {"<LogicalId>": {...}} for one."""
    if source is None:
        return {}
    try:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvokeError(f"cannot read --env-vars: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise InvokeError('--env-vars must be {"Parameters": {...}, "<FunctionLogicalId>": {...}}')
    merged = {**data.get("Parameters", {}), **data.get(spec.logical_id, {}), **data.get(spec.name, {})}
    return {str(k): str(v) for k, v in merged.items()}


def with_api_key(event: Any, key: str) -> Any:
    """The event with `Authorization: Bearer <key>` (an API Gateway proxy event's two header maps)."""
    if not isinstance(event, dict):
        raise InvokeError("--api-key needs an API Gateway event (a JSON object with headers)")
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "authorization"}
    multi = {k: v for k, v in (event.get("multiValueHeaders") or {}).items() if k.lower() != "authorization"}
    return {
        **event,
        "headers": {**headers, "Authorization": f"Bearer {key}"},
        "multiValueHeaders": {**multi, "Authorization": [f"Bearer {key}"]},
    }


def _running(stack_json: Path) -> StackInfo | None:
    """The stack that stack.json describes, if it answers."""
    try:
        info = StackInfo(**json.loads(stack_json.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    try:
        alive = httpx.get(f"{info.api_url}/_local/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        alive = False
    return info if alive else None


@contextlib.contextmanager
def stack_for(stack_json: Path, err: TextIO) -> Iterator[StackInfo]:
    """The running stack, else a temporary one (in memory, ports the OS picks) for this invocation."""
    info = _running(stack_json)
    if info is not None:
        yield info
        return
    err.write(f"no local stack answers at {stack_json} (`make run`): starting a temporary one\n")
    with LocalStack(StackConfig.on_free_ports()) as stack:
        assert stack.info is not None
        yield stack.info


def invoke(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    event = read_event(args.event, stdin)
    with stack_for(Path(args.stack), err) as info:
        if args.api_key is not None:
            key = info.api_key if args.api_key == DEMO_KEY else args.api_key
            if key is None:
                raise InvokeError("the stack has no demo app: give the API key itself")
            event = with_api_key(event, key)
        template = local_template(
            args.template or info.template,
            name_prefix=info.name_prefix,
            parameter_overrides=info.parameter_overrides,
            beecloud_url=info.beecloud_url,
            beilypay_url=info.beilypay_url,
            moto_url=info.moto_url,
        )
        spec = template.functions.get(args.function)
        if spec is None:
            known = ", ".join(sorted(template.functions))
            raise InvokeError(f"no function {args.function} in {template.path.name}; functions: {known}")
        environment = {
            **lambda_environment(spec, aws_endpoints_env(info.moto_url, info.dynamodb_url), region=REGION),
            # The container refuses what the function's role does not allow, as on the stack.
            **iam.container_env(load_yaml(template.path), spec.logical_id),
            **env_overrides(args.env_vars, spec),
        }
        return _run(spec, environment, event, out, err)


def _run(spec: FunctionSpec, environment: dict[str, str], event: Any, out: TextIO, err: TextIO) -> int:
    request_id = str(uuid.uuid4())

    def log_line(_function: str, line: str) -> None:
        err.write(line + "\n")

    worker = Worker(spec, environment, log_line)
    try:
        err.write(f"Invoking {spec.handler} ({spec.runtime}) as {spec.name}\n")
        init_error = worker.wait_ready()
        if init_error is not None:
            out.write(json.dumps(init_error) + "\n")
            return 1
        err.write(f"START RequestId: {request_id} Version: $LATEST\n")
        started = time.monotonic()
        result = worker.invoke(event, request_id, spec.arn)
        duration_ms = (time.monotonic() - started) * 1000
        worker.kill()  # one invocation per container, as `sam local invoke`
        worker.drain_logs(timeout_s=5)
        err.write(f"END RequestId: {request_id}\n")
        err.write(
            f"REPORT RequestId: {request_id}\tInit Duration: {worker.init_ms or 0:.2f} ms\t"
            f"Duration: {duration_ms:.2f} ms\tMemory Size: {spec.memory_size} MB\n"
        )
        out.write(result.payload.decode("utf-8", "replace") + "\n")
        return 1 if result.function_error else 0
    finally:
        worker.kill()


def main(argv: list[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr, stdin: TextIO = sys.stdin) -> int:
    args = _parser().parse_args(argv)
    try:
        return invoke(args, out, err, stdin)
    except InvokeError as exc:
        err.write(f"paygate_local invoke: {exc}\n")
        return 2
