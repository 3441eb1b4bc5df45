"""Local throughput and per-function peak memory on the whole local stack.

Starts `paygate_local.stack.LocalStack` on free ports, then

1. **throughput**: N clients (default 8, in a separate process so their CPU is counted apart
   from the runner's) post bills with unique bill_no in a closed loop. A warm-up first grows the
   CreateBill pool (every client busy at once: one worker each) and is not measured. Prints
   requests/s, p50/p95/p99, status counts, the workers each pool grew to, and the CPU time each
   process group used during the window (2 cores shared by everything);
2. **memory**: a mixed workload that invokes every function (bills paid through the BeeCloud
   sandbox so its webhook reaches Callback, refunds, queries, balance, payouts and collections
   over BeilyPay with their notifies, the Step Functions poller, webhook endpoints plus a real
   delivery by WebhookDispatcher, an on-demand Reconcile), then each live worker's peak RSS
   (`VmHWM`) next to the template's MemorySize and a suggested size.

    PYTHONPATH=.:layers/paygate .venv/bin/python -m bench.load [--seconds 20] [--json out.json]

Figures depend on the machine and on what else runs on it; see docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import multiprocessing
import os
import secrets
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, ClassVar

import httpx

from bench.samples import collection_body, payout_body
from paygate.clock import china_date, iso_from_ms, now_ms
from paygate_local.stack import LocalStack, StackConfig
from paygate_local.template import FunctionSpec

CLK_TCK = os.sysconf("SC_CLK_TCK")
LAMBDA_MB_PER_VCPU = 1769  # Lambda: 1769 MB = one full vCPU; CPU share scales linearly with memory
RUNTIME_OVERHEAD_MB = 60  # the managed runtime (bootstrap, its client) on top of our process's RSS
LAMBDA_MIN_MB = 128

# The mixed phase runs the poller and the webhook retries on short schedules, as the e2e tests do.
PARAMETER_OVERRIDES = {
    "PollFirstWaitSeconds": "1",
    "PollMaxWaitSeconds": "2",
    "PollDeadlineSeconds": "6",
    "WebhookRetryBaseSeconds": "1",
    "WebhookRetryMaxSeconds": "1",
    "WebhookAllowInsecureUrls": "true",
    # The throughput phase's bills are never paid: their follow-ups must not fire during the run
    # (SQS's longest delay); the mixed phase sends BillFollowUp one follow-up itself.
    "BillFollowUpSeconds": "900",
}


# ---------------------------------------------------------------- /proc


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), or 0 if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def descendants(pid: int) -> list[int]:
    """pid and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def peak_rss_kb(pid: int) -> int | None:
    """The process's high-water resident set (VmHWM), or None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def busy_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


def process_groups(stack: LocalStack, client_pid: int | None) -> dict[str, list[int]]:
    """The processes of the stack, grouped: runner, clients, moto, DynamoDB Local, each function."""
    assert stack.functions is not None
    groups: dict[str, list[int]] = {"runner (API, sandboxes, bridges)": [os.getpid()]}
    if client_pid:
        groups["load clients"] = [client_pid]
    if stack.moto and stack.moto.proc:
        groups["moto"] = descendants(stack.moto.proc.pid)
    if stack.dynamodb and stack.dynamodb.proc:
        groups["DynamoDB Local (JVM)"] = descendants(stack.dynamodb.proc.pid)
    for logical_id, pool in stack.functions.pools.items():
        pids = pool.worker_pids()
        if pids:
            groups[f"workers {short(logical_id)}"] = pids
    return groups


def cpu_by_group(groups: dict[str, list[int]]) -> dict[str, float]:
    return {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in groups.items()}


def short(logical_id: str) -> str:
    return logical_id.removesuffix("Function")


# ---------------------------------------------------------------- 1. throughput (client process)


@dataclass
class ClientReport:
    """What the load process measured; plain data so it crosses the pipe."""

    seconds: float
    latencies_ms: list[float]
    status_counts: dict[str, int]
    warmup_status_counts: dict[str, int]
    samples: list[str]  # a few non-2xx answers, for the report
    cpu_s: float


def _client_main(conn: Connection, api_url: str, api_key: str, clients: int, warmup: float, seconds: float) -> None:
    """The load process: `clients` threads, each with its own keep-alive httpx client."""
    tag = secrets.token_hex(3).upper()
    measuring = threading.Event()
    stopping = threading.Event()
    window: dict[str, float] = {}
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    warm_statuses: Counter[str] = Counter()
    samples: list[str] = []
    first_done = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        seq = 0
        with httpx.Client(
            base_url=api_url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=35,
            limits=httpx.Limits(max_keepalive_connections=1, max_connections=1),
        ) as http:
            while not stopping.is_set():
                seq += 1
                body = {"bill_no": f"LD{tag}{index:02d}{seq:08d}", "channel": "WX_NATIVE", "total_fee": 100}
                body["title"] = "load"
                started = time.monotonic()
                try:
                    response = http.post("/bills", json=body)
                    status, text = str(response.status_code), response.text
                except httpx.HTTPError as exc:
                    status, text = type(exc).__name__, str(exc)
                finished = time.monotonic()
                with lock:
                    in_window = measuring.is_set() and started >= window["start"] and "end" not in window
                    (statuses if in_window else warm_statuses)[status] += 1
                    if in_window:
                        latencies.append((finished - started) * 1000)
                    if not status.startswith("2") and len(samples) < 5:
                        samples.append(f"{status} {text[:300]}")
                if seq == 1:
                    first_done.wait()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    first_done.wait()  # every client has had an answer: the pool grew to one worker per client
    time.sleep(warmup)
    cpu_before = time.process_time()
    with lock:
        window["start"] = time.monotonic()
        measuring.set()
    conn.send(("measuring", window["start"]))
    time.sleep(seconds)
    with lock:
        window["end"] = time.monotonic()
    cpu_after = time.process_time()
    conn.send(("done", window["end"]))
    stopping.set()
    for thread in threads:
        thread.join(timeout=40)
    conn.send(
        (
            "report",
            ClientReport(
                seconds=window["end"] - window["start"],
                latencies_ms=latencies,
                status_counts=dict(statuses),
                warmup_status_counts=dict(warm_statuses),
                samples=samples,
                cpu_s=cpu_after - cpu_before,
            ),
        )
    )
    conn.close()


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(0, math.ceil(pct / 100 * len(ordered)) - 1)
    return ordered[rank]


def run_throughput(stack: LocalStack, *, clients: int, warmup: float, seconds: float) -> dict[str, Any]:
    info = stack.info
    assert info is not None
    assert info.api_key is not None
    assert stack.functions is not None
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(
        target=_client_main, args=(child, info.api_url, info.api_key, clients, warmup, seconds), daemon=True
    )
    proc.start()
    child.close()
    try:
        if not parent.poll(120 + warmup):
            raise RuntimeError("the load clients never started measuring")
        kind, _ = parent.recv()
        assert kind == "measuring"
        groups = process_groups(stack, proc.pid)
        cpu0, (busy0, total0) = cpu_by_group(groups), busy_cpu_seconds()
        workers_at_start = {short(k): len(p.worker_pids()) for k, p in stack.functions.pools.items()}
        kind, _ = parent.recv()
        assert kind == "done"
        cpu1, (busy1, total1) = cpu_by_group(groups), busy_cpu_seconds()
        if not parent.poll(60):
            raise RuntimeError("the load clients did not report")
        kind, report = parent.recv()
        assert kind == "report"
        assert isinstance(report, ClientReport)
    finally:
        proc.join(timeout=60)
        if proc.is_alive():
            proc.kill()
            proc.join()
    cpu = {name: cpu1[name] - cpu0[name] for name in groups}
    cpu["load clients"] = report.cpu_s  # the process's own count (it may have exited by now)
    requests = sum(report.status_counts.values())
    workers = {short(k): len(p.worker_pids()) for k, p in stack.functions.pools.items()}
    create_bill_cpu = cpu.get("workers CreateBill", 0.0)
    return {
        "clients": clients,
        "warmup_seconds": warmup,
        "seconds": round(report.seconds, 3),
        "requests": requests,
        "rps": round(requests / report.seconds, 1),
        "p50_ms": round(percentile(report.latencies_ms, 50), 1),
        "p95_ms": round(percentile(report.latencies_ms, 95), 1),
        "p99_ms": round(percentile(report.latencies_ms, 99), 1),
        "mean_ms": round(statistics.fmean(report.latencies_ms), 1) if report.latencies_ms else None,
        "status_counts": report.status_counts,
        "warmup_status_counts": report.warmup_status_counts,
        "error_samples": report.samples,
        "workers": {k: v for k, v in workers.items() if v},
        "workers_at_window_start": {k: v for k, v in workers_at_start.items() if v},
        "cpu_seconds": {k: round(v, 2) for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])},
        "machine_cpu_busy_pct": round(100 * (busy1 - busy0) / (total1 - total0) * (os.cpu_count() or 1), 1),
        # Busy CPU time the stack and its clients do not account for: other work, interrupt handling.
        "other_cpu_seconds": round(max(0.0, (busy1 - busy0) - sum(cpu.values())), 2),
        "cores": os.cpu_count(),
        "create_bill_worker_cpu_ms_per_request": round(1000 * create_bill_cpu / requests, 2) if requests else None,
        "stack_cpu_ms_per_request": round(1000 * sum(cpu.values()) / requests, 2) if requests else None,
    }


# ---------------------------------------------------------------- 2. mixed workload, peak memory


class _Receiver(BaseHTTPRequestHandler):
    """A merchant's webhook endpoint: 200 to every POST, counted."""

    received: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).received.append(self.headers.get("Paygate-Event-Id", ""))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[str]]]:
    received: list[str] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _InvocationCounter(logging.Handler):
    """Counts START lines per function name from the runner's function log."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("START RequestId"):
            self.counts[record.name.rsplit(".", 1)[-1]] += 1


def eventually[T](probe: Callable[[], T | None], *, timeout: float = 30.0, interval: float = 0.1) -> T | None:
    """Poll until probe returns something truthy; None after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(interval)
    return None


@dataclass
class Mixed:
    statuses: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, what: str, response: httpx.Response, *expected: int) -> httpx.Response:
        self.statuses[f"{what} {response.status_code}"] += 1
        if response.status_code not in expected:
            self.unexpected.append(f"{what}: {response.status_code} {response.text[:200]}")
        return response


def _status(http: httpx.Client, path: str, final: tuple[str, ...] = ("succeeded", "failed", "unknown")) -> str | None:
    response = http.get(path)
    status = response.json().get("status") if response.status_code == 200 else None
    return status if status in final else None


def _payout(out_order_no: str, account: str) -> dict[str, Any]:
    return payout_body(out_order_no, account=account)


@dataclass(frozen=True)
class ConsoleUser:
    """Who the mixed rounds sign in to the console as (an operator of the bench's app)."""

    url: str
    email: str
    password: str


def _mixed_round(http: httpx.Client, mixed: Mixed, tag: str, i: int, console: ConsoleUser) -> None:
    """One bill paid and partly refunded, one payout, one collection paid, the reads, and the console."""
    today = china_date(now_ms())

    # Every money POST carries an Idempotency-Key, so its (lazily loaded) path counts in the peak.
    def key(kind: str) -> dict[str, str]:
        return {"Idempotency-Key": f"bench-{tag}-{kind}-{i}"}

    bill_no = f"MX{tag}{i:04d}"
    bill_body = {"bill_no": bill_no, "channel": "WX_NATIVE", "total_fee": 1000, "title": "mixed"}
    bill = mixed.check("POST /bills", http.post("/bills", json=bill_body, headers=key("bill")), 201).json()
    replay = http.post("/bills", json=bill_body, headers=key("bill"))
    mixed.check("POST /bills (same Idempotency-Key)", replay, 200, 201)
    mixed.check("pay (BeeCloud sandbox)", httpx.get(bill["payment"]["code_url"], timeout=10), 200)
    if eventually(partial(_status, http, f"/bills/{bill_no}", ("succeeded",))) is None:
        mixed.notes.append(f"bill {bill_no} never succeeded")
    refund_no = f"{today}R{tag}{i:03d}"
    mixed.check(
        "POST /refunds",
        http.post(
            "/refunds",
            json={"refund_no": refund_no, "bill_no": bill_no, "refund_fee": 300},
            headers=key("refund"),
        ),
        201,
    )
    if eventually(partial(_status, http, f"/refunds/{refund_no}")) is None:
        mixed.notes.append(f"refund {refund_no} never settled")
    out_order_no = f"MXP{tag}{i:04d}"
    payout = http.post("/payouts", json=_payout(out_order_no, "123456781234"), headers=key("payout"))
    mixed.check("POST /payouts", payout, 201)
    if eventually(partial(_status, http, f"/payouts/{out_order_no}")) is None:
        mixed.notes.append(f"payout {out_order_no} never settled")
    collection = mixed.check(
        "POST /collections",
        http.post(
            "/collections",
            json=collection_body(f"MXC{tag}{i:04d}"),
            headers=key("collection"),
        ),
        201,
    ).json()
    mixed.check("pay page (BeilyPay sandbox)", httpx.get(collection["pay_url"], timeout=10), 200)
    session_body = {"total_fee": 1000, "title": "mixed", "channels": ["WX_NATIVE"], "return_url": "https://x.test/"}
    session = mixed.check("POST /checkout/sessions", http.post("/checkout/sessions", json=session_body), 201).json()
    mixed.check("GET /pay/{token}", httpx.get(session["url"], timeout=30), 200)
    chosen = httpx.post(f"{session['url']}/channels/WX_NATIVE", headers={"Origin": str(http.base_url).rstrip("/")})
    mixed.check("POST /pay/{token}/channels/{channel}", chosen, 303)
    mixed.check("GET /balance", http.get("/balance"), 200)
    mixed.check("GET /bills", http.get("/bills", params={"limit": 20}), 200)
    mixed.check("GET /refunds", http.get("/refunds", params={"limit": 20}), 200)
    mixed.check("GET /payouts", http.get("/payouts", params={"limit": 20}), 200)
    signed_in = httpx.post(f"{console.url}/login", data={"email": console.email, "password": console.password})
    mixed.check("POST /console/login", signed_in, 303)
    cookie = {"Cookie": f"paygate_console={signed_in.cookies.get('paygate_console', '')}"}
    mixed.check("GET /console", httpx.get(console.url, headers=cookie, timeout=30), 200)
    mixed.check(
        "GET /console/bills/{bill_no}", httpx.get(f"{console.url}/bills/{bill_no}", headers=cookie, timeout=30), 200
    )


def run_mixed(stack: LocalStack, *, rounds: int, quick: bool = False) -> dict[str, Any]:
    """Drive every function a few times over its real path; returns what happened."""
    info, tpl = stack.info, stack.template
    assert info is not None
    assert info.api_key is not None
    assert tpl is not None
    assert stack.functions is not None
    assert stack.moto is not None
    mixed = Mixed()
    counter = _InvocationCounter()
    fn_logger = logging.getLogger("paygate_local.fn")
    fn_logger.addHandler(counter)
    fn_logger.setLevel(logging.INFO)
    fn_logger.propagate = False
    tag = secrets.token_hex(3).upper()
    try:
        with (
            webhook_receiver() as (receiver_url, received),
            httpx.Client(
                base_url=info.api_url, headers={"Authorization": f"Bearer {info.api_key}"}, timeout=35
            ) as http,
        ):
            endpoint = mixed.check(
                "POST /webhook-endpoints",
                http.post("/webhook-endpoints", json={"url": f"{receiver_url}/hook", "event_types": ["*"]}),
                201,
            ).json()
            endpoint_id = endpoint.get("id", "missing")
            mixed.check("GET /webhook-endpoints", http.get("/webhook-endpoints"), 200)
            mixed.check("GET /webhook-endpoints/{id}", http.get(f"/webhook-endpoints/{endpoint_id}"), 200)
            # A payout BeilyPay keeps pending (account 9999): the only one polled, since a notify
            # stops its payout's poller (polled up to its deadline unless --quick).
            mixed.check("POST /payouts", http.post("/payouts", json=_payout(f"MXP{tag}PEND", "123456789999")), 201)
            assert info.app_id is not None
            created = stack.create_console_user(info.app_id, f"bench-{tag.lower()}@example.com")
            console = ConsoleUser(f"{info.api_url}/console", created["email"], created["password"])
            for i in range(rounds):
                _mixed_round(http, mixed, tag, i, console)
            if eventually(lambda: len(received) >= 1, timeout=60) is None:
                mixed.notes.append("the webhook receiver got no delivery")
            mixed.check(
                "GET /webhook-endpoints/{id}/deliveries", http.get(f"/webhook-endpoints/{endpoint_id}/deliveries"), 200
            )
            # The poller of the pending payout: its first Wait is 1 s here.
            poll_pool = stack.functions.pools["PollPendingFunction"]
            if eventually(poll_pool.worker_pids, timeout=30) is None:
                mixed.notes.append("the poller's state machine never ran PollPending")
            # A bill follow-up, as CreateBill queues it but without its delay (the bill is paid).
            sqs = stack.moto.client("sqs")
            queue_url = sqs.get_queue_url(QueueName=tpl.resources["BillFollowUpQueue"].name)["QueueUrl"]
            follow_up = {"kind": "bill_follow_up", "app_id": info.app_id, "bill_no": f"MX{tag}0000", "attempt": 1}
            sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(follow_up))
            if eventually(stack.functions.pools["BillFollowUpFunction"].worker_pids, timeout=30) is None:
                mixed.notes.append("the follow-up queue never ran BillFollowUp")
            now = now_ms()
            lam = stack.moto.client("lambda")
            window = {"app_id": info.app_id, "from": iso_from_ms(now - 3_600_000), "to": iso_from_ms(now + 60_000)}
            answer = lam.invoke(FunctionName=tpl.functions["ReconcileFunction"].name, Payload=json.dumps(window))
            mixed.statuses[f"invoke Reconcile {answer['StatusCode']}"] += 1
            if "FunctionError" in answer:
                mixed.unexpected.append(f"Reconcile: {answer['Payload'].read()[:300]!r}")
            # Let in-flight deliveries, notifies and polls finish before reading peaks.
            pending = f"/payouts/MXP{tag}PEND"
            if not quick and eventually(lambda: _status(http, pending), timeout=30) is None:
                mixed.notes.append("the pending payout never reached its poll deadline")
            time.sleep(0.5 if quick else 2)
            mixed.notes.append(f"webhook deliveries received: {len(received)}")
    finally:
        fn_logger.removeHandler(counter)
        fn_logger.setLevel(logging.NOTSET)
        fn_logger.propagate = True
    memory: dict[str, Any] = {}
    for logical_id, pool in stack.functions.pools.items():
        peaks = [kb for kb in (peak_rss_kb(pid) for pid in pool.worker_pids()) if kb]
        spec = pool.spec
        peak_mb = max(peaks) / 1024 if peaks else None
        memory[short(logical_id)] = {
            "logical_id": logical_id,
            "peak_rss_mb": round(peak_mb, 1) if peak_mb else None,
            "workers": len(peaks),
            "invocations_in_mixed_phase": counter.counts.get(spec.name, 0),
            "configured_mb": spec.memory_size,
            "floor_mb": floor_mb(peak_mb) if peak_mb else None,
        }
        if peak_mb:
            size, why = suggest(spec, peak_mb)
            memory[short(logical_id)].update(suggested_mb=size, why=why)
    return {
        "memory": memory,
        "mixed": {
            "statuses": dict(sorted(mixed.statuses.items())),
            "unexpected": mixed.unexpected,
            "notes": mixed.notes,
        },
    }


def floor_mb(peak_rss_mb: float) -> int:
    """The smallest Lambda size that holds the process plus the runtime, rounded up to 64 MB."""
    return max(LAMBDA_MIN_MB, math.ceil((peak_rss_mb + RUNTIME_OVERHEAD_MB) / 64) * 64)


def suggest(spec: FunctionSpec, peak_rss_mb: float) -> tuple[int, str]:
    """A MemorySize for the function, and why: memory sets the floor, CPU share the rest."""
    floor = floor_mb(peak_rss_mb)
    kinds = {str(event.get("Type")) for event in spec.events.values()}
    if "Schedule" in kinds:
        return max(floor, spec.memory_size), "keep: a run's memory grows with the orders in its window"
    if "Api" in kinds and spec.memory_size > floor:
        vcpu = spec.memory_size / LAMBDA_MB_PER_VCPU
        return spec.memory_size, f"keep: on the request path, CPU-bound work runs at {vcpu:.2f} vCPU"
    size = max(floor, 256)
    return size, f"asynchronous: {size} MB holds peak + runtime with room, latency is not a client's"


# ---------------------------------------------------------------- main


def run(args: argparse.Namespace) -> dict[str, Any]:
    config = StackConfig.on_free_ports(
        time_scale=0.01,
        max_workers=args.max_workers,
        parameter_overrides=dict(PARAMETER_OVERRIDES),
    )
    seen: set[int] = set()
    result: dict[str, Any] = {}
    elapsed: dict[str, float] = {}
    started = time.monotonic()
    with LocalStack(config) as stack:
        elapsed["start"] = time.monotonic() - started
        if not args.skip_throughput:
            result["throughput"] = run_throughput(stack, clients=args.clients, warmup=args.warmup, seconds=args.seconds)
            seen.update(pid for pids in process_groups(stack, None).values() for pid in pids if pid != os.getpid())
            elapsed["throughput"] = time.monotonic() - started - sum(elapsed.values())
        if not args.skip_memory:
            mixed = run_mixed(stack, rounds=args.rounds, quick=args.quick)
            elapsed["mixed"] = time.monotonic() - started - sum(elapsed.values())
            result["memory"] = mixed["memory"]
            result["mixed"] = mixed["mixed"]
        seen.update(pid for pids in process_groups(stack, None).values() for pid in pids if pid != os.getpid())
        stopping = time.monotonic()
    elapsed["stop"] = time.monotonic() - stopping
    result["elapsed_s"] = {k: round(v, 1) for k, v in elapsed.items()}
    time.sleep(0.5)
    result["stray_processes"] = sorted(pid for pid in seen if alive(pid))
    return result


def print_report(result: dict[str, Any]) -> None:
    out = sys.stdout
    tp = result.get("throughput")
    if tp:
        out.write(
            f"\nThroughput: POST /bills, {tp['clients']} clients, {tp['seconds']:.1f} s measured "
            f"after {tp['warmup_seconds']:.0f} s warm-up, on {tp['cores']} cores\n"
        )
        out.write(
            f"  {tp['requests']} requests, {tp['rps']} req/s; latency p50 {tp['p50_ms']} ms, "
            f"p95 {tp['p95_ms']} ms, p99 {tp['p99_ms']} ms (mean {tp['mean_ms']} ms)\n"
        )
        out.write(f"  status counts: {tp['status_counts']} (warm-up: {tp['warmup_status_counts']})\n")
        for sample in tp["error_samples"]:
            out.write(f"  non-2xx sample: {sample}\n")
        out.write(f"  workers per pool: {tp['workers']}\n")
        out.write(
            f"  machine CPU busy: {tp['machine_cpu_busy_pct']}% of {100 * tp['cores']}% "
            f"({tp['other_cpu_seconds']} CPU s of it not in the stack's processes: other work, interrupts)\n"
        )
        out.write("  CPU seconds in the window, by process group (per request):\n")
        for name, seconds in tp["cpu_seconds"].items():
            per_request = 1000 * seconds / tp["requests"] if tp["requests"] else math.nan
            out.write(f"    {name:<36} {seconds:7.2f} s  {per_request:6.2f} ms\n")
        out.write(
            f"    {'total':<36} {sum(tp['cpu_seconds'].values()):7.2f} s  {tp['stack_cpu_ms_per_request']:6.2f} ms\n"
        )
    memory = result.get("memory")
    if memory:
        out.write("\nPeak RSS per function (VmHWM, max over its workers) after the mixed workload:\n")
        out.write(
            f"  {'function':<18} {'peak RSS':>9} {'workers':>7} {'invokes':>7} {'configured':>10} {'floor':>6} "
            f"{'suggested':>9}  why\n"
        )
        for name, row in sorted(memory.items()):
            peak = f"{row['peak_rss_mb']:.1f} MB" if row["peak_rss_mb"] else "-"
            floor = f"{row['floor_mb']} MB" if row["floor_mb"] else "-"
            suggested = f"{row['suggested_mb']} MB" if row.get("suggested_mb") else "-"
            out.write(
                f"  {name:<18} {peak:>9} {row['workers']:>7} {row['invocations_in_mixed_phase']:>7} "
                f"{row['configured_mb']:>7} MB {floor:>6} {suggested:>9}  {row.get('why', '')}\n"
            )
        out.write(
            f"  floor = peak RSS + {RUNTIME_OVERHEAD_MB} MB runtime overhead, rounded up to 64 MB "
            f"(min {LAMBDA_MIN_MB}); CPU share = MemorySize / {LAMBDA_MB_PER_VCPU} MB per vCPU\n"
        )
        mixed = result["mixed"]
        out.write(f"  mixed workload: {mixed['statuses']}\n")
        for line in mixed["unexpected"]:
            out.write(f"  UNEXPECTED: {line}\n")
        for line in mixed["notes"]:
            out.write(f"  note: {line}\n")
    out.write(f"\nElapsed: {result['elapsed_s']} s")
    out.write(f"\nStray processes after stop: {result['stray_processes'] or 'none'}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before the window")
    parser.add_argument("--max-workers", type=int, default=8, help="workers per function (Lambda containers)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the mixed workload")
    parser.add_argument("--quick", action="store_true", help="skip the payout held pending to its poll deadline")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    result = run(args)
    print_report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    bad = result.get("throughput", {}).get("status_counts", {})
    failed = any(not str(k).startswith("2") for k in bad) or bool(result.get("mixed", {}).get("unexpected"))
    return 1 if failed or result["stray_processes"] else 0


if __name__ == "__main__":
    sys.exit(main())
