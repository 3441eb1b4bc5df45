"""Warm latency and calls per operation: the real handlers in a process of their own, real DynamoDB Local and sandboxes.

    PYTHONPATH=.:layers/paygate .venv/bin/python -m bench.warm [--iterations 200] [--json PATH]

This process starts the local stack (`paygate_local`: DynamoDB Local, moto for EventBridge /
Secrets Manager / SQS / Step Functions, both provider sandboxes) and a webhook receiver, computes
the functions' environment (`lambda_environment`, as the stack's workers get it), and starts the
handler process: `python -m bench.warm --child CONFIG.json`, with that environment and
nothing else of this process (plain data: the environment and the URLs; its stdout, where the
handlers' Powertools logs go, is discarded). The handler process imports every handler module
from `functions/<name>/app.py` under its own module name and invokes each on an event built from
its `events/*.json` file. Each handler is warmed up first (its first, cold call is reported apart:
it is where Secrets Manager is read; Powertools caches the secret for the container). It writes
its figures to a file; this process prints them.

What is measured, with hooks only (bench/hooks.py; production code is untouched):
- handler time (perf_counter around lambda_handler);
- time inside botocore calls (provide-client-params -> after-call), DynamoDB apart from the
  other AWS services; time inside httpx requests (providers; the receiver for webhook delivery);
- overhead (ours) = handler - AWS - HTTP, and its p99 against the floor: an empty Powertools
  APIGatewayRestResolver with one route returning {} on the same event;
- per operation: DynamoDB requests by table and API operation, WCU/RCU (ReturnConsumedCapacity
  injected by a provide-client-params hook; computed from item sizes when DynamoDB Local does
  not return it), provider requests, EventBridge entries, Secrets Manager and Step Functions
  calls. Counts come from the median iteration's calls (they are the same every iteration).

Notes: the handler process holds only the handlers, as a Lambda container does: the sandboxes,
the EventBridge router and pollers, the local API and the webhook receiver are threads of this
process, and the stack's workers (e.g. the webhook fan-out of every published event) other
processes, so none of them competes for the handlers' GIL. On a machine with two CPUs or more,
the handler process also gets one CPU to itself and the stack the others (`--shared-cpus` turns
this off), as a Lambda container's CPU share is its own: the stack's load then reaches the
handlers only through the waits. Absolute figures still depend on the machine; compare ratios.
Provider notifies are sent to an unreachable URL on purpose (PUBLIC_BASE_URL / the sandbox app's
webhook_url) and fed to the Callback handler by this script.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import IO, Annotated, Any

import httpx
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel

from bench.hooks import Call, Recorder, Sample, count_calls, hottest_partitions, percentile
from bench.samples import first_notification

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"

OPERATIONS = (
    "create_bill",
    "bill_callback",
    "refund",
    "query_bill",
    "list_bills",
    "payout",
    "poll_pending",
    "payout_callback",
    "collect",
    "collect_callback",
    "webhook_delivery",
    "webhook_fan_out",
)
# Reported beside the operations: the same create with an Idempotency-Key header.
EXTRA_OPERATIONS = ("create_bill_idempotency_key",)

PROFILE_DIR = ROOT / ".local" / "bench"
UNREACHABLE = "http://127.0.0.1:9"  # notifies go nowhere; this script feeds them to the handler itself
PENDING_ACCOUNT = "123456789999"  # the BeilyPay sandbox keeps these payouts pending until told
_SKIP_ENV = {"PATH", "PYTHONPATH", "LANG", "TZ", "PYTHONUNBUFFERED", "LAMBDA_TASK_ROOT", "_HANDLER"}


# ---------------------------------------------------------------- helpers
@dataclass
class Context:
    """A Lambda context with the attributes Powertools reads."""

    function_name: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/bench"
    log_stream_name: str = "bench"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 20_000


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


def api_event(
    template: str,
    *,
    path: str | None = None,
    body: Any = None,
    path_params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The events/<template>.json event with this request's path, body and headers."""
    event = load_event(template)
    all_headers = dict(event.get("headers") or {})
    all_headers.update(headers or {})
    event["headers"] = all_headers
    event["multiValueHeaders"] = {k: [v] for k, v in all_headers.items()}
    if path is not None:
        event["path"] = path
        event["requestContext"]["path"] = f"/{event['requestContext'].get('stage', 'dev')}{path}"
    if path_params is not None:
        event["pathParameters"] = path_params
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    return event


def load_function(name: str) -> ModuleType:
    """functions/<name>/app.py under its own module name, like its own container."""
    module_name = f"paygate_function_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def floor_handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The floor: an empty Powertools REST resolver, one route answering {}."""
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    resolver = APIGatewayRestResolver()

    @resolver.post("/bills")
    def create() -> dict[str, Any]:
        return {}

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return resolver.resolve(event, context)

    return handler


class FloorRequest(BaseModel):
    bill_no: str
    channel: str
    total_fee: int
    title: str


def floor_powertools_handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """A second, fuller floor: the same resolver with OpenAPI validation of a pydantic body and a
    Powertools Logger injecting the Lambda context (what every paygate handler has)."""
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    resolver = APIGatewayRestResolver(enable_validation=True)
    logger = Logger(service="bench-floor")

    @resolver.post("/bills")
    def create(request: Annotated[FloorRequest, Body()]) -> dict[str, Any]:
        return {}

    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return resolver.resolve(event, context)

    return handler


@contextlib.contextmanager
def receiver() -> Iterator[str]:
    """A webhook receiver on 127.0.0.1 answering 204 to every POST."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- results
@dataclass
class OperationRun:
    samples: list[Sample]  # warm ones only
    cold: Sample | None = None


def latency_summary(samples: list[Sample]) -> dict[str, Any]:
    def ms(values: list[float], q: float) -> float:
        return round(percentile(values, q) * 1000, 3)

    total = [s.total_s for s in samples]
    dynamodb = [s.seconds("dynamodb") for s in samples]
    other_aws = [s.aws_s - s.seconds("dynamodb") for s in samples]
    aws = [s.aws_s for s in samples]
    http = [s.http_s for s in samples]
    overhead = [s.total_s - s.aws_s - s.http_s for s in samples]
    cpu = [s.cpu_s for s in samples]
    return {
        "n": len(samples),
        "p50_ms": ms(total, 0.5),
        "p99_ms": ms(total, 0.99),
        "aws_p50_ms": ms(aws, 0.5),
        "aws_p99_ms": ms(aws, 0.99),
        "dynamodb_p50_ms": ms(dynamodb, 0.5),
        "dynamodb_p99_ms": ms(dynamodb, 0.99),
        "other_aws_p50_ms": ms(other_aws, 0.5),
        "other_aws_p99_ms": ms(other_aws, 0.99),
        "provider_p50_ms": ms(http, 0.5),
        "provider_p99_ms": ms(http, 0.99),
        "overhead_p50_ms": ms(overhead, 0.5),
        "overhead_p99_ms": ms(overhead, 0.99),
        "cpu_p50_ms": ms(cpu, 0.5),
        "cpu_p99_ms": ms(cpu, 0.99),
    }


# ---------------------------------------------------------------- the bench
@dataclass(frozen=True)
class Targets:
    """What the handler process needs of the stack, as plain data (it crosses the process boundary as JSON)."""

    env: dict[str, str]  # the functions' environment (function_environment)
    beecloud_url: str  # the provider sandboxes' base URLs (their control APIs are under /_sandbox)
    beilypay_url: str
    receiver_url: str  # a merchant's webhook receiver (webhook_delivery)
    pythonpath: list[str]  # the handler process's import path: the repository, the functions' layers


def function_environment(stack: Any) -> dict[str, str]:
    """Every function's environment from the stack's template, merged (they differ only in names)."""
    from paygate_local.workers import lambda_environment

    assert stack.template is not None
    base = stack.admin_env()
    env: dict[str, str] = {}
    for spec in stack.template.functions.values():
        env.update({k: v for k, v in lambda_environment(spec, base).items() if k not in _SKIP_ENV})
    # Lambda always sets it; Powertools' batch utility reuses one event loop per container only
    # where it is set (elsewhere asyncio.run builds and tears down a loop and its threads per batch).
    env["LAMBDA_TASK_ROOT"] = str(ROOT / "functions")
    env["PUBLIC_BASE_URL"] = UNREACHABLE  # BeilyPay notifies: this script delivers them itself
    env["POLL_FIRST_WAIT_S"] = "900"  # first polls stay queued (SQS delay) while the bench runs
    return env


class WarmBench:
    """Drives the handlers against one local stack's endpoints; see the module docstring."""

    def __init__(self, targets: Targets, recorder: Recorder, *, log: Callable[[str], None] = lambda _m: None) -> None:
        self.targets = targets
        self.recorder = recorder
        self.log = log
        self.profile: tuple[str, ...] = ()  # functions whose warm invocations cProfile records
        self.profile_dir: str | None = None
        self.run_id = uuid.uuid4().hex[:8].upper()
        self.tables: dict[str, str] = {}
        self.app_id = ""
        self.auth = ""
        self.beecloud_app_id = ""
        self.beilypay_app_id = 0
        self.bills: list[str] = []
        self.payouts: list[str] = []
        self.collections: list[str] = []
        self.webhook_endpoint_id = ""

    # setup ----------------------------------------------------------
    def setup(self) -> None:
        os.environ.update(self.targets.env)
        for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            os.environ.pop(name, None)
        self.recorder.install()
        from paygate import aws, deps, settings

        # (clear_caches also drops the shared session; older revisions, measured for before/after, lack it)
        getattr(aws, "clear_caches", aws.client.cache_clear)()
        settings.get_settings.cache_clear()
        for name in dir(deps):
            getattr(getattr(deps, name), "cache_clear", lambda: None)()
        s = settings.get_settings()
        self.tables = {
            s.orders_table: "orders",
            s.apps_table: "apps",
            s.idempotency_table: "idempotency",
            os.environ.get("WEBHOOKS_TABLE", "webhooks"): "webhooks",
        }
        if getattr(s, "order_history_table", ""):  # revisions before the order history lack it
            self.tables[s.order_history_table] = "history"
        self.recorder.learn_tables(aws.client("dynamodb"), list(self.tables))
        self._create_app()

    def _create_app(self) -> None:
        from paygate.apps.admin import BeeCloudAccount, BeilyPayAccount, create_app

        beecloud = BeeCloudAccount(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))
        beilypay = BeilyPayAccount(
            app_id=uuid.uuid4().int % 9_000_000_000 + 1_000_000_000,
            merchant_id=uuid.uuid4().int % 2_000_000_000 + 1,
            secret=uuid.uuid4().hex,
        )
        app, api_key, _ = create_app("bench", beecloud=beecloud, beilypay=beilypay)
        self.app_id, self.auth = app.app_id, f"Bearer {api_key}"
        self.beecloud_app_id, self.beilypay_app_id = beecloud.app_id, beilypay.app_id
        _ok(
            httpx.post(
                f"{self.targets.beecloud_url}/_sandbox/apps",
                json={
                    "app_id": beecloud.app_id,
                    "app_secret": beecloud.app_secret,
                    "master_secret": beecloud.master_secret,
                    "webhook_url": f"{UNREACHABLE}/unused",
                },
            )
        )
        _ok(
            httpx.post(
                f"{self.targets.beilypay_url}/_sandbox/apps",
                json={
                    "app_id": beilypay.app_id,
                    "merchant_id": beilypay.merchant_id,
                    "secret": beilypay.secret,
                    "balance": 10**13,
                    "rate_limit_per_s": 1_000_000,  # the bench's pace is not what the sandbox's 10006 is about
                },
            )
        )

    def is_provider(self, call: Call) -> bool:
        ports = {httpx.URL(self.targets.beecloud_url).port, httpx.URL(self.targets.beilypay_url).port}
        return call.service == "http" and any(call.operation.endswith(f":{p}") for p in ports)

    # measuring ------------------------------------------------------
    def measure(
        self,
        function: str,
        events: list[dict[str, Any]],
        warmup: int,
        *,
        check: Callable[[dict[str, Any]], bool],
        handler: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None,
    ) -> OperationRun:
        """Invoke the handler on each event; the first `warmup` are not reported (the first is the cold one)."""
        from aws_lambda_powertools.utilities import parameters

        parameters.clear_caches()  # type: ignore[no-untyped-call]  # this "container" has not read any secret yet
        from paygate import credentials

        provider = getattr(credentials, "_provider", None)  # a cached SecretsProvider of our own, if any
        if provider is not None and hasattr(provider, "cache_clear"):
            provider().clear_cache()
        call = handler or load_function(function).lambda_handler
        run = OperationRun(samples=[])
        profile = cProfile.Profile() if self.profile_dir and function in self.profile else None
        for i, event in enumerate(events):
            if profile and i == warmup:
                profile.enable()
            with self.recorder.record() as sample:
                result = call(event, Context(function_name=function))
            if not check(result):
                raise RuntimeError(f"{function}: unexpected result {str(result)[:500]}")
            if i == 0:
                run.cold = sample
            if i >= warmup:
                run.samples.append(sample)
        if profile and self.profile_dir:
            profile.disable()
            profile.dump_stats(Path(self.profile_dir) / f"profile-{function}.pstats")
        return run

    def run(
        self, operations: tuple[str, ...], iterations: int, warmup: int, *, floors: bool = True
    ) -> dict[str, OperationRun]:
        n = warmup + iterations
        runs: dict[str, OperationRun] = {}
        wanted = set(operations)
        needs = {
            "bill_callback": {"create_bill"},
            "refund": {"create_bill", "bill_callback"},
            "query_bill": {"create_bill"},
            "list_bills": {"create_bill"},
            "poll_pending": {"payout"},
            "payout_callback": {"payout"},
            "collect_callback": {"collect"},
        }
        for op in list(wanted):
            wanted |= needs.get(op, set())
        for op in (*OPERATIONS, *EXTRA_OPERATIONS):
            if op in wanted:
                self.log(f"  {op} x{n}")
                runs[op] = getattr(self, f"_op_{op}")(n, warmup)
        if not floors:
            return {op: r for op, r in runs.items() if op in operations}
        runs["floor"] = self.measure(
            "floor",
            [self._bill_event(f"F{i}") for i in range(n)],
            warmup,
            check=lambda r: r["statusCode"] == 200,
            handler=floor_handler(),
        )
        runs["floor_powertools"] = self.measure(
            "floor_powertools",
            [self._bill_event(f"G{i}") for i in range(n)],
            warmup,
            check=lambda r: r["statusCode"] == 200,
            handler=floor_powertools_handler(),
        )
        return {op: r for op, r in runs.items() if op in operations or op.startswith("floor")}

    # operations -----------------------------------------------------
    def _bill_event(self, suffix: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        bill_no = f"BW{self.run_id}{suffix}"
        body = {"bill_no": bill_no, "channel": "WX_NATIVE", "total_fee": 100, "title": "bench"}
        return api_event("create_bill", body=body, headers={"Authorization": self.auth, **(headers or {})})

    def _op_create_bill(self, n: int, warmup: int) -> OperationRun:
        events = [self._bill_event(f"{i:06d}") for i in range(n)]
        self.bills = [json.loads(e["body"])["bill_no"] for e in events]
        return self.measure("create_bill", events, warmup, check=lambda r: r["statusCode"] == 201)

    def _op_create_bill_idempotency_key(self, n: int, warmup: int) -> OperationRun:
        events = [self._bill_event(f"K{i:06d}", {"Idempotency-Key": uuid.uuid4().hex}) for i in range(n)]
        return self.measure("create_bill", events, warmup, check=lambda r: r["statusCode"] == 201)

    def _op_bill_callback(self, n: int, warmup: int) -> OperationRun:
        url = self.targets.beecloud_url
        for bill_no in self.bills[:n]:
            _ok(httpx.post(f"{url}/_sandbox/bills/{self.beecloud_app_id}/{bill_no}/pay"))
        bodies = [self._notification(url, f"{self.beecloud_app_id}/PAY/{b}") for b in self.bills[:n]]
        events = [self._callback_event("beecloud_webhook", "beecloud", body) for body in bodies]
        return self.measure("callback", events, warmup, check=lambda r: r["body"] == "success")

    def _op_refund(self, n: int, warmup: int) -> OperationRun:
        from paygate.clock import china_date, now_ms

        today = china_date(now_ms())
        events = [
            api_event(
                "create_refund",
                body={"refund_no": f"{today}{self.run_id}{i:06d}", "bill_no": bill_no, "refund_fee": 100},
                headers={"Authorization": self.auth},
            )
            for i, bill_no in enumerate(self.bills[:n])
        ]
        return self.measure("refund", events, warmup, check=lambda r: r["statusCode"] == 201)

    def _op_query_bill(self, n: int, warmup: int) -> OperationRun:
        events = [
            api_event(
                "get_bill",
                path=f"/bills/{bill_no}",
                path_params={"bill_no": bill_no},
                headers={"Authorization": self.auth},
            )
            for bill_no in self.bills[:n]
        ]
        return self.measure("query", events, warmup, check=lambda r: r["statusCode"] == 200)

    def _op_list_bills(self, n: int, warmup: int) -> OperationRun:
        """The newest page of the merchant's bills: every index shard is read once per page."""
        events = []
        for _ in range(n):
            event = api_event("list_bills", headers={"Authorization": self.auth})
            event["queryStringParameters"] = {"limit": "20"}
            event["multiValueQueryStringParameters"] = {"limit": ["20"]}
            events.append(event)
        return self.measure("query", events, warmup, check=lambda r: r["statusCode"] == 200)

    def _op_payout(self, n: int, warmup: int) -> OperationRun:
        events = []
        self.payouts = []
        for i in range(n):
            body = json.loads(load_event("create_payout")["body"])
            body.update(out_order_no=f"PW{self.run_id}{i:06d}", account=PENDING_ACCOUNT)
            self.payouts.append(body["out_order_no"])
            events.append(api_event("create_payout", body=body, headers={"Authorization": self.auth}))
        return self.measure("payout", events, warmup, check=lambda r: r["statusCode"] == 201)

    def _op_poll_pending(self, n: int, warmup: int) -> OperationRun:
        """One poll round of a payout BeilyPay still reports pending (the backstop's common case)."""
        events = []
        for out_order_no in self.payouts[:n]:
            event = load_event("poll_pending")
            deadline_ms = int(time.time() * 1000) + 86_400_000
            event.update(app_id=self.app_id, out_order_no=out_order_no, deadline_ms=deadline_ms)
            events.append(event)
        return self.measure("poll_pending", events, warmup, check=lambda r: r.get("outcome") == "pending")

    def _op_payout_callback(self, n: int, warmup: int) -> OperationRun:
        return self._notify_callback("payouts", self.payouts[:n], warmup)

    def _op_collect(self, n: int, warmup: int) -> OperationRun:
        events = []
        self.collections = []
        for i in range(n):
            body = json.loads(load_event("create_collection")["body"])
            body.update(out_order_no=f"CW{self.run_id}{i:06d}")
            self.collections.append(body["out_order_no"])
            events.append(api_event("create_collection", body=body, headers={"Authorization": self.auth}))
        return self.measure("collect", events, warmup, check=lambda r: r["statusCode"] == 201)

    def _op_collect_callback(self, n: int, warmup: int) -> OperationRun:
        return self._notify_callback("collections", self.collections[:n], warmup)

    def _notify_callback(self, sandbox_kind: str, out_order_nos: list[str], warmup: int) -> OperationRun:
        """Complete each order in the BeilyPay sandbox (status 2), then feed its signed notify to Callback."""
        url = self.targets.beilypay_url
        order_nos = [self._beilypay_order_no(o) for o in out_order_nos]
        for order_no in order_nos:
            _ok(httpx.post(f"{url}/_sandbox/{sandbox_kind}/{order_no}/complete", json={"status": 2}))
        events = [self._callback_event("beilypay_notify", "beilypay", self._notification(url, o)) for o in order_nos]
        return self.measure("callback", events, warmup, check=lambda r: "SUCC" in r["body"])

    def _webhook_endpoint(self) -> str:
        """The app's one webhook endpoint (bill.succeeded, to the receiver), created on first use."""
        if not self.webhook_endpoint_id:
            created = load_function("webhook_endpoints").lambda_handler(
                api_event(
                    "create_webhook_endpoint",
                    body={"url": f"{self.targets.receiver_url}/hooks", "event_types": ["bill.succeeded"]},
                    headers={"Authorization": self.auth},
                ),
                Context(function_name="webhook_endpoints"),
            )
            if created["statusCode"] != 201:
                raise RuntimeError(f"webhook endpoint: {created['body'][:300]}")
            self.webhook_endpoint_id = json.loads(created["body"])["id"]
        return self.webhook_endpoint_id

    def _op_webhook_delivery(self, n: int, warmup: int) -> OperationRun:
        """One delivery task (the deliveries queue's record): endpoint, signing secret, POST, attempt record."""
        endpoint_id = self._webhook_endpoint()
        template = load_event("webhook_dispatcher_sqs")["Records"][0]
        events = []
        for _ in range(n):
            event_id = str(uuid.uuid4())
            task = {
                "version": "1",
                "kind": "delivery",
                "app_id": self.app_id,
                "endpoint_id": endpoint_id,
                "event_id": event_id,
                "event_type": "bill.succeeded",
                "payload": json.dumps({"event_id": event_id, "type": "bill.succeeded", "data": {}}),
            }
            record = json.loads(json.dumps(template))
            record.update(messageId=str(uuid.uuid4()), body=json.dumps(task))
            record["attributes"]["ApproximateReceiveCount"] = "1"
            events.append({"Records": [record]})
        return self.measure("webhook_dispatcher", events, warmup, check=lambda r: not r.get("batchItemFailures"))

    def _op_webhook_fan_out(self, n: int, warmup: int) -> OperationRun:
        """One event from the events queue: store it, read the app's endpoints, queue one task per subscriber."""
        self._webhook_endpoint()
        template = load_event("webhook_dispatcher_sqs")["Records"][0]
        events = []
        for _ in range(n):
            envelope = json.loads(template["body"])
            envelope["id"] = str(uuid.uuid4())
            envelope["detail"].update(event_id=str(uuid.uuid4()), app_id=self.app_id)
            record = json.loads(json.dumps(template))
            record.update(messageId=str(uuid.uuid4()), body=json.dumps(envelope))
            events.append({"Records": [record]})
        return self.measure("webhook_dispatcher", events, warmup, check=lambda r: not r.get("batchItemFailures"))

    # provider plumbing ----------------------------------------------
    def _callback_event(self, template: str, provider: str, body: dict[str, Any]) -> dict[str, Any]:
        return api_event(
            template,
            path=f"/callbacks/{provider}/{self.app_id}",
            path_params={"app_id": self.app_id},
            body=json.dumps(body),
        )

    def _beilypay_order_no(self, out_order_no: str) -> str:
        orders = httpx.get(
            f"{self.targets.beilypay_url}/_sandbox/orders",
            params={"app_id": str(self.beilypay_app_id), "out_order_no": out_order_no},
        ).json()["orders"]
        order_no: str = orders[0]["orderNo"] if "orderNo" in orders[0] else orders[0]["order_no"]
        return order_no

    @staticmethod
    def _notification(sandbox_url: str, ref: str, timeout_s: float = 30.0) -> dict[str, Any]:
        """The signed notify the sandbox tried to deliver (to the unreachable URL) for this order."""
        return first_notification(sandbox_url, ref, timeout_s)


def _ok(response: httpx.Response) -> None:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text[:300]}")


# ---------------------------------------------------------------- Step Functions transitions
def state_machine_transitions() -> dict[str, int]:
    """Transitions of statemachines/poll_pending.asl.json for one payout, walked with the poller's schedule.

    The schedule is the template's defaults; each poll round's outcome is what PendingPoller
    answers: `final` once the order is settled, `expired` at the deadline, else `pending` with
    `next_wait`. Counted as every state entered (Wait, PollPending, Final?, ... , Done/Unknown).
    A notify that settles the order stops the execution (Callback's StopExecution) in its Wait;
    `..._unstopped` is the same payout when that stop fails and the next round ends it.
    """
    import yaml

    from paygate.transfers.poller import PollState, next_wait

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    params = yaml.load((ROOT / "template.yaml").read_text(), Loader=_Loader)["Parameters"]  # noqa: S506
    first, growth = int(params["PollFirstWaitSeconds"]["Default"]), int(params["PollGrowthFactor"]["Default"])
    cap, deadline_s = int(params["PollMaxWaitSeconds"]["Default"]), int(params["PollDeadlineSeconds"]["Default"])
    asl = json.loads((ROOT / "statemachines" / "poll_pending.asl.json").read_text())["States"]

    def walk(settled_at_s: float | None, *, stopped: bool = False) -> int:
        state = PollState(
            kind="payout", app_id="app_0123456789abcdef", out_order_no="PO-1", wait_seconds=first,
            max_wait_seconds=cap, growth=growth, deadline_ms=deadline_s * 1000,
        )  # fmt: skip
        name, now_s, transitions = "Wait", 0, 0
        while True:
            transitions += 1
            spec = asl[name]
            if spec["Type"] in ("Succeed", "Fail"):
                return transitions
            if spec["Type"] == "Wait":
                if stopped and settled_at_s is not None and settled_at_s < now_s + state.wait_seconds:
                    return transitions  # StopExecution during this Wait
                now_s += state.wait_seconds
            elif name == "PollPending":
                if settled_at_s is not None and now_s >= settled_at_s:
                    state = state.model_copy(update={"outcome": "final"})
                elif now_s * 1000 >= state.deadline_ms:
                    state = state.model_copy(update={"outcome": "expired"})
                else:
                    state = state.model_copy(update={"wait_seconds": next_wait(state, now_s * 1000)})
            if spec["Type"] == "Choice":
                outcome = state.outcome
                name = next((c["Next"] for c in spec["Choices"] if c.get("StringEquals") == outcome), spec["Default"])
            else:
                name = spec["Next"]

    notify_at_s = 5  # BeilyPay notifies within seconds; the first poll is PollFirstWaitSeconds away
    return {
        "transitions_settled_by_notify": walk(notify_at_s, stopped=True),
        "transitions_settled_by_notify_unstopped": walk(notify_at_s),
        "transitions_pending_day": walk(None),
    }


# ---------------------------------------------------------------- report
def report(runs: dict[str, OperationRun], bench: WarmBench) -> dict[str, Any]:
    latency = {op: latency_summary(run.samples) for op, run in runs.items()}
    floor_p99 = latency.get("floor", {}).get("p99_ms")
    powertools_p99 = latency.get("floor_powertools", {}).get("p99_ms")
    powertools_cpu_p99 = latency.get("floor_powertools", {}).get("cpu_p99_ms")
    for op, figures in latency.items():
        if not op.startswith("floor") and floor_p99 and powertools_p99:
            figures["overhead_p99_vs_floor_p99"] = round(figures["overhead_p99_ms"] / floor_p99, 1)
            figures["overhead_p99_vs_floor_powertools_p99"] = round(figures["overhead_p99_ms"] / powertools_p99, 1)
        if not op.startswith("floor") and powertools_cpu_p99:
            figures["cpu_p99_vs_floor_powertools_cpu_p99"] = round(figures["cpu_p99_ms"] / powertools_cpu_p99, 1)
    calls: dict[str, Any] = {}
    for op, run in runs.items():
        if op.startswith("floor"):
            continue
        median = sorted(run.samples, key=lambda s: len(s.calls))[len(run.samples) // 2]
        calls[op] = count_calls(median, bench.tables, is_provider=bench.is_provider)
        calls[op]["hottest_partition"] = hottest_partitions(run.samples)
        if run.cold is not None:
            cold = count_calls(run.cold, bench.tables, is_provider=bench.is_provider)
            calls[op]["cold_secretsmanager_requests"] = cold["secretsmanager_requests"]
            calls[op]["cold_dynamodb_requests"] = cold["dynamodb"]["requests"]
    return {"latency": latency, "calls": calls, "stepfunctions": state_machine_transitions()}


def format_report(result: dict[str, Any]) -> str:
    lines = ["Warm latency (ms)          handler p50/p99   DynamoDB p50/p99  other AWS p50/p99  provider p50/p99"
             "   overhead p50/p99  overhead p99 / floor p99 (/ powertools floor p99)"
             "   CPU p50/p99  CPU p99 / powertools floor's"]  # fmt: skip
    for op, f in result["latency"].items():
        ratio = f.get("overhead_p99_vs_floor_p99", 1.0)
        ratio2 = f.get("overhead_p99_vs_floor_powertools_p99", 1.0)
        cpu_ratio = f.get("cpu_p99_vs_floor_powertools_cpu_p99", 1.0)
        lines.append(
            f"{op:26} {f['p50_ms']:7.2f} /{f['p99_ms']:7.2f}  {f['dynamodb_p50_ms']:6.2f} /{f['dynamodb_p99_ms']:6.2f}"
            f"   {f['other_aws_p50_ms']:6.2f} /{f['other_aws_p99_ms']:6.2f}   {f['provider_p50_ms']:6.2f} /"
            f"{f['provider_p99_ms']:6.2f}    {f['overhead_p50_ms']:6.2f} /{f['overhead_p99_ms']:6.2f}"
            f"    {ratio:5.1f}x ({ratio2:4.1f}x)                         {f['cpu_p50_ms']:5.2f} /{f['cpu_p99_ms']:5.2f}"
            f"   {cpu_ratio:5.1f}x"
        )
    lines += [
        "",
        "Calls per operation (one warm invocation; DynamoDB by table:operation; cold = first call of the container)",
        f"{'operation':26} {'DynamoDB':>8} {'WCU':>5} {'RCU':>5} {'cap.':>8} {'prov':>4} {'EB ent':>6} {'SM':>3}"
        f" {'SM cold':>7} {'SFN':>3}  by operation",
    ]
    for op, c in result["calls"].items():
        d = c["dynamodb"]
        ops = ", ".join(f"{k} {v}" for k, v in d["by_operation"].items())
        lines.append(
            f"{op:26} {d['requests']:8} {d['wcu']:5.1f} {d['rcu']:5.1f} {d['capacity_source']:>8}"
            f" {c['provider_requests'] + c['other_http_requests']:4} {c['eventbridge_entries']:6}"
            f" {c['secretsmanager_requests']:3} {c.get('cold_secretsmanager_requests', 0):7}"
            f" {c['stepfunctions_starts'] + c.get('stepfunctions_stops', 0):3}  {ops}"
        )
    lines += [
        "",
        "Hottest DynamoDB partition per operation (warm requests in one container: accesses of the one",
        "partition key touched most, per request; 3,000 reads/s and 1,000 writes/s per partition)",
    ]
    for op, c in result["calls"].items():
        hot = c.get("hottest_partition")
        if not hot:
            continue
        r, w = hot["reads"], hot["writes"]
        lines.append(
            f"{op:26} reads {r['per_request']:6.3f}/req {r['partition'] or '-':38} writes {w['per_request']:6.3f}/req"
            f" {w['partition'] or '-'}"
        )
    sfn = result["stepfunctions"]
    lines += [
        "",
        f"Step Functions transitions per payout: settled by notify {sfn['transitions_settled_by_notify']}"
        f" ({sfn.get('transitions_settled_by_notify_unstopped', '?')} if the stop fails), "
        f"pending a whole day {sfn['transitions_pending_day']}",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- CPUs
def split_cpus() -> tuple[set[int], set[int]] | None:
    """(the handler process's CPU, the stack's CPUs) out of this process's; None with a single CPU."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return {cpus[-1]}, set(cpus[:-1])


@contextlib.contextmanager
def cpus_for_this_thread(cpus: set[int] | None) -> Iterator[None]:
    """Pin the calling thread (and so the threads and processes it starts) to `cpus`, then restore."""
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


# ---------------------------------------------------------------- the handler process
CHILD_BASE_TIMEOUT_S = 180.0  # a run_handler_process without timeout_s: this, plus per invocation
CHILD_TIMEOUT_PER_CALL_S = 0.5  # (a warm call takes 5-50 ms)
STDERR_TAIL_LINES = 40


def run_handler_process(
    targets: Targets,
    operations: tuple[str, ...],
    *,
    iterations: int,
    warmup: int,
    floors: bool = True,
    timeout_s: float | None = None,
    log: Callable[[str], None] = lambda _m: None,
    profile: tuple[str, ...] = (),
    profile_dir: Path | None = None,
    handler_cpus: set[int] | None = None,
) -> dict[str, Any]:
    """Run WarmBench in a fresh Python process (`--child`, see child_main) and return its report().

    The process gets the functions' environment, PATH and PYTHONPATH, and nothing else of this one.
    Its stdout (the handlers' Powertools logs) goes to /dev/null; each line of its stderr goes to
    `log`, and the last ones into the RuntimeError raised when it fails or outlives `timeout_s`.
    It is stopped and reaped before this returns, however this returns.
    """
    if timeout_s is None:
        calls = (warmup + iterations) * (len(OPERATIONS + EXTRA_OPERATIONS) + 2)
        timeout_s = CHILD_BASE_TIMEOUT_S + CHILD_TIMEOUT_PER_CALL_S * calls
    env = {
        **targets.env,
        "PATH": os.environ.get("PATH", os.defpath),
        "PYTHONPATH": os.pathsep.join(targets.pythonpath),
    }
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)

    def pump(stream: IO[str]) -> None:  # drains the pipe to its end, whatever `log` does
        for line in stream:
            tail.append(line.rstrip("\n"))
            with contextlib.suppress(Exception):
                log(tail[-1])

    with tempfile.TemporaryDirectory(prefix="bench-warm-") as tmp:
        config_path, result_path = Path(tmp) / "config.json", Path(tmp) / "result.json"
        config = {
            "targets": dataclasses.asdict(targets),
            "operations": list(operations),
            "iterations": iterations,
            "warmup": warmup,
            "floors": floors,
            "result_path": str(result_path),
            "profile": list(profile),
            "profile_dir": str(profile_dir) if profile_dir else None,
            "handler_cpus": sorted(handler_cpus) if handler_cpus else None,
        }
        config_path.write_text(json.dumps(config))
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.warm", "--child", str(config_path)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,  # its end closes with this process: the child then exits (child_main)
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        assert process.stderr is not None
        pumping = threading.Thread(target=pump, args=(process.stderr,), name="bench-child-stderr", daemon=True)
        failure: str | None = None
        try:
            pumping.start()
            try:
                status = process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                failure = f"did not finish within {timeout_s:.0f} s"
            else:
                if status != 0:
                    failure = f"exited with status {status}"
                elif not result_path.exists():
                    failure = "exited without writing its result"
        finally:
            _stop(process)
            if pumping.is_alive():
                pumping.join(timeout=5)
            process.stderr.close()
        if failure is not None:
            raise RuntimeError(
                f"the handler process (pid {process.pid}) {failure}; the end of its stderr:\n" + "\n".join(tail)
            )
        result: dict[str, Any] = json.loads(result_path.read_text())
    return result


def _stop(process: subprocess.Popen[str]) -> None:
    """Terminate (then kill) the process if it still runs, and reap it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdin is not None:
        process.stdin.close()


def child_main(config_path: Path) -> int:
    """The handler process: set up the app, measure every operation and the floors, write report()."""
    config = json.loads(config_path.read_text())

    def exit_with_parent() -> None:  # blocked in read(2), it never holds the GIL
        while os.read(0, 4096):  # unbuffered: no lock of sys.stdin's held at interpreter shutdown
            pass
        os._exit(3)  # EOF: the bench's process closed its end, or is gone

    if config.get("handler_cpus"):
        os.sched_setaffinity(0, config["handler_cpus"])  # before any thread: they inherit it
    threading.Thread(target=exit_with_parent, name="bench-parent-watch", daemon=True).start()
    bench = WarmBench(Targets(**config["targets"]), Recorder(), log=lambda m: print(m, file=sys.stderr, flush=True))
    bench.profile, bench.profile_dir = tuple(config.get("profile") or ()), config.get("profile_dir")
    bench.setup()
    runs = bench.run(tuple(config["operations"]), config["iterations"], config["warmup"], floors=config["floors"])
    result = report(runs, bench)
    result["meta"] = {"handler_pid": os.getpid()}
    Path(config["result_path"]).write_text(json.dumps(result))
    return 0


def run_bench(
    operations: tuple[str, ...] = OPERATIONS,
    *,
    iterations: int = 200,
    warmup: int = 10,
    time_scale: float = 0.05,
    floors: bool = True,
    log: Callable[[str], None] = lambda _m: None,
    timeout_s: float | None = None,
    profile: tuple[str, ...] = (),
    profile_dir: Path | None = None,
    own_cpu: bool = False,
) -> dict[str, Any]:
    """Start a local stack, measure its handlers in a process of their own, stop both; returns the JSON document.

    `own_cpu`: the handler process gets one CPU to itself and the stack (DynamoDB Local's JVM,
    moto, the sandboxes, this process) the others, as a Lambda container's CPU share is its own.
    """
    from paygate_local.stack import LocalStack, StackConfig

    config = StackConfig.on_free_ports(
        time_scale=time_scale,
        demo_app=False,
        max_workers=1,
    )
    split = split_cpus() if own_cpu else None
    log("starting the local stack ...")
    with cpus_for_this_thread(split[1] if split else None), LocalStack(config) as stack, receiver() as receiver_url:
        assert stack.beecloud is not None
        assert stack.beilypay is not None
        layers = [d for d in stack.admin_env()["PYTHONPATH"].split(os.pathsep) if d]
        targets = Targets(
            env=function_environment(stack),
            beecloud_url=stack.beecloud.url,
            beilypay_url=stack.beilypay.url,
            receiver_url=receiver_url,
            pythonpath=[str(ROOT), *layers],
        )
        log(f"measuring in a handler process ({warmup} warm-up + {iterations} iterations per operation)")
        result = run_handler_process(
            targets,
            operations,
            iterations=iterations,
            warmup=warmup,
            floors=floors,
            timeout_s=timeout_s,
            log=log,
            profile=profile,
            profile_dir=profile_dir,
            handler_cpus=split[0] if split else None,
        )
    result["meta"] = {
        **result.get("meta", {}),
        "stack_pid": os.getpid(),
        "iterations": iterations,
        "warmup": warmup,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "handler_cpus": sorted(split[0]) if split else None,  # None: shared with the stack
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return result


def main(argv: list[str] | None = None) -> int:
    # Handlers that add no metric on a path make Powertools warn on every flush: noise, not a finding.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=200, help="measured invocations per operation (200)")
    parser.add_argument("--warmup", type=int, default=10, help="unreported invocations first (10; the first is cold)")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--ops", default=",".join(OPERATIONS + EXTRA_OPERATIONS), help="comma-separated operations")
    parser.add_argument(
        "--profile",
        default="",
        help="comma-separated functions (e.g. webhook_dispatcher,query) whose warm invocations cProfile records"
        " into .local/bench/profile-<function>.pstats (slower: compare no figures from a profiled run)",
    )
    parser.add_argument(
        "--shared-cpus",
        action="store_true",
        help="let the handler process share every CPU with the stack (by default it gets one to itself)",
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # the handler process (run_handler_process)
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args.child)
    operations = tuple(o for o in args.ops.split(",") if o)
    unknown = set(operations) - set(OPERATIONS + EXTRA_OPERATIONS)
    if unknown:
        parser.error(f"unknown operations: {', '.join(sorted(unknown))}")

    out = sys.stdout
    # The report alone on stdout (the handlers' logs go to their own process's stdout: /dev/null).
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        result = run_bench(
            operations,
            iterations=args.iterations,
            warmup=max(1, args.warmup),
            log=lambda m: print(m, file=sys.stderr, flush=True),
            profile=tuple(f for f in args.profile.split(",") if f),
            profile_dir=PROFILE_DIR,
            own_cpu=not args.shared_cpus,
        )
    print(format_report(result), file=out)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        print(f"\nwrote {args.json}", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
