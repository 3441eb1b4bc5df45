"""AWS cost per 1M successful payments and per 1M payouts, from the calls `bench_warm` counted.

Nothing here is measured on AWS (there is no AWS account here): the counts of requests, capacity
units, events and transitions per operation come from `bench.warm` (hooks on botocore
and httpx around the real handlers), the memory size from template.yaml, and the prices and
latencies below are written down so anyone can check them or pass their own.

    python -m bench.cost --warm .local/bench/warm.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WARM = ROOT / ".local" / "bench" / "warm.json"


@dataclass(frozen=True)
class Prices:
    """US East (N. Virginia) list prices, USD, as published on the AWS pricing pages in 2026-11."""

    lambda_gb_s_arm64: float = 0.0000133334  # first 7.5 billion GB-s a month
    lambda_per_request: float = 0.20 / 1e6
    api_gateway_rest_per_request: float = 3.50 / 1e6  # REST API, first 333 million a month
    dynamodb_per_wru: float = 0.625 / 1e6  # on-demand write request unit
    dynamodb_per_rru: float = 0.125 / 1e6  # on-demand read request unit
    eventbridge_per_event: float = 1.00 / 1e6  # custom events, per 64 KB chunk
    stepfunctions_per_transition: float = 0.025 / 1e3  # Standard workflows
    sqs_per_request: float = 0.40 / 1e6  # standard queue, per 64 KB chunk


@dataclass(frozen=True)
class Latencies:
    """Assumed in-region round trips (ms) that a deployed function waits on; local ones are not AWS's."""

    dynamodb_ms: float = 6.0
    eventbridge_ms: float = 20.0
    stepfunctions_ms: float = 25.0
    sqs_ms: float = 10.0
    provider_ms: float = 350.0  # BeeCloud (CN) / BeilyPay (IN) from an AWS region, one HTTPS call


FULL_VCPU_MB = 1769  # Lambda gives one full vCPU at this memory size, and a share of it below

# Which function serves each operation, and whether it comes through API Gateway.
OPERATIONS: dict[str, tuple[str, bool]] = {
    "create_bill": ("CreateBillFunction", True),
    "bill_callback": ("CallbackFunction", True),
    "refund": ("RefundFunction", True),
    "query_bill": ("QueryFunction", True),
    "list_bills": ("QueryFunction", True),
    "payout": ("PayoutFunction", True),
    "payout_callback": ("CallbackFunction", True),
    "collect": ("CollectFunction", True),
    "collect_callback": ("CallbackFunction", True),
    "poll_pending": ("PollPendingFunction", False),
    "first_poll": ("FirstPollFunction", False),
    "webhook_delivery": ("WebhookDispatcherFunction", False),
}

# The first poll of an order its notify settled: one eventually consistent GetItem finds it final.
# Not measured by bench/warm (its first polls stay queued while it runs): counted from the code.
FIRST_POLL_OF_A_SETTLED_ORDER: dict[str, Any] = {"dynamodb": {"requests": 1, "wcu": 0.0, "rcu": 0.5}}

# What one successful business operation is made of (operation -> how many times).
FLOWS: dict[str, dict[str, float]] = {
    "payment (bill created, paid webhook)": {"create_bill": 1, "bill_callback": 1},
    "payout settled by its notify": {"payout": 1, "payout_callback": 1, "first_poll": 1},
    "collection paid, settled by its notify": {"collect": 1, "collect_callback": 1, "first_poll": 1},
    "refund": {"refund": 1},
    "webhook delivered to one endpoint": {"webhook_delivery": 1},
}


def memory_sizes() -> dict[str, int]:
    """MemorySize per function as template.yaml sets it (Globals, then the function's own)."""
    from paygate_local.template import load_yaml

    doc = load_yaml(ROOT / "template.yaml")
    default = int(doc.get("Globals", {}).get("Function", {}).get("MemorySize", 128))
    return {
        name: int(res["Properties"].get("MemorySize", default))
        for name, res in doc["Resources"].items()
        if res["Type"] == "AWS::Serverless::Function"
    }


def billed_ms(op: dict[str, Any], latency: dict[str, Any] | None, memory_mb: int, waits: Latencies) -> float:
    """Our own CPU time (measured locally on a full core) stretched to the memory's CPU share, plus waits."""
    ours = (latency or {}).get("overhead_p50_ms", 5.0)
    cpu = ours * max(1.0, FULL_VCPU_MB / memory_mb)
    calls = op.get("dynamodb", {}).get("requests", 0) * waits.dynamodb_ms
    calls += (1 if op.get("eventbridge_entries", 0) else 0) * waits.eventbridge_ms
    calls += (op.get("stepfunctions_starts", 0) + op.get("stepfunctions_stops", 0)) * waits.stepfunctions_ms
    calls += op.get("provider_requests", 0) * waits.provider_ms
    return float(math.ceil(cpu + calls))  # Lambda bills by the millisecond, rounded up


def operation_cost(
    name: str,
    op: dict[str, Any],
    latency: dict[str, Any] | None,
    memory: dict[str, int],
    prices: Prices,
    waits: Latencies,
) -> dict[str, float]:
    function, via_api = OPERATIONS[name]
    invocations = op.get("lambda_invocations", 1)
    ms = billed_ms(op, latency, memory[function], waits)
    dynamodb = op.get("dynamodb", {})
    parts = {
        "lambda": invocations
        * (prices.lambda_per_request + memory[function] / 1024 * ms / 1000 * prices.lambda_gb_s_arm64),
        "api_gateway": prices.api_gateway_rest_per_request if via_api else 0.0,
        "dynamodb": dynamodb.get("wcu", 0) * prices.dynamodb_per_wru + dynamodb.get("rcu", 0) * prices.dynamodb_per_rru,
        "eventbridge": op.get("eventbridge_entries", 0) * prices.eventbridge_per_event,
        "stepfunctions": 0.0,
        "sqs": 0.0,
    }
    if name in ("webhook_delivery", "first_poll"):  # the queue message: send, receive, delete
        parts["sqs"] = 3 * prices.sqs_per_request
    return {"billed_ms": ms, **parts}


def model(warm: dict[str, Any], prices: Prices, waits: Latencies) -> dict[str, Any]:
    memory = memory_sizes()
    calls, latency = warm["calls"], warm.get("latency", {})
    calls = {**calls, "first_poll": FIRST_POLL_OF_A_SETTLED_ORDER}
    per_op = {
        name: operation_cost(name, calls[name], latency.get(name), memory, prices, waits)
        for name in OPERATIONS
        if name in calls
    }
    # Settled by its notify: the Callback stops the poller in its first Wait (no PollPending run).
    transitions = warm.get("stepfunctions", {}).get("transitions_settled_by_notify", 0)
    flows: dict[str, dict[str, float]] = {}
    for flow, steps in FLOWS.items():
        if not all(step in per_op for step in steps):
            continue
        totals = {key: 0.0 for key in ("lambda", "api_gateway", "dynamodb", "eventbridge", "stepfunctions", "sqs")}
        # A create that starts the state machine itself (the code before FirstPollQueue) has no first poll.
        starts_machine = any(calls[step].get("stepfunctions_starts", 0) for step in steps)
        for step, times in steps.items():
            if step == "first_poll" and starts_machine:
                continue
            for key in totals:
                totals[key] += per_op[step][key] * times
        if starts_machine:  # the order's poller execution
            totals["stepfunctions"] += transitions * prices.stepfunctions_per_transition
        flows[flow] = {key: round(value * 1e6, 2) for key, value in totals.items()}
        flows[flow]["total"] = round(sum(totals.values()) * 1e6, 2)
    pending_day = warm.get("stepfunctions", {}).get("transitions_pending_day")
    extra = {}
    if pending_day is not None:
        extra["payout pending a whole day, Step Functions only"] = round(
            pending_day * prices.stepfunctions_per_transition * 1e6, 2
        )
    return {"per_operation": per_op, "per_million": flows, "extra_per_million": extra, "memory_mb": memory}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm", type=Path, default=DEFAULT_WARM, help="the JSON `bench_warm --json` wrote")
    parser.add_argument("--json", type=Path, help="also write the model here")
    for spec in fields(Latencies):
        parser.add_argument(f"--{spec.name.replace('_', '-')}", type=float, default=spec.default)
    args = parser.parse_args(argv)
    if not args.warm.exists():
        parser.error(f"{args.warm} is missing: run `python -m bench.warm --json {args.warm}` first")
    prices = Prices()
    waits = Latencies(**{spec.name: getattr(args, spec.name) for spec in fields(Latencies)})
    result = model(json.loads(args.warm.read_text()), prices, waits)

    print("cost model, USD per 1M, from the calls counted by bench_warm")
    print("prices (us-east-1): " + ", ".join(f"{k}={v:.10g}" for k, v in asdict(prices).items()))
    print("assumed waits (ms): " + ", ".join(f"{k}={v:g}" for k, v in asdict(waits).items()))
    print(f"\n{'operation':<18}{'function':<26}{'MB':>5}{'billed ms':>10}{'USD / 1M':>10}")
    for name, cost in result["per_operation"].items():
        function = OPERATIONS[name][0]
        usd = sum(value for key, value in cost.items() if key != "billed_ms") * 1e6
        print(f"{name:<18}{function:<26}{result['memory_mb'][function]:>5}{cost['billed_ms']:>10.0f}{usd:>10.2f}")
    columns = ("lambda", "api_gateway", "dynamodb", "eventbridge", "stepfunctions", "sqs", "total")
    print(f"\n{'per 1M':<40}" + "".join(f"{c:>14}" for c in columns))
    for flow, costs in result["per_million"].items():
        print(f"{flow:<40}" + "".join(f"{costs[c]:>14.2f}" for c in columns))
    for label, usd in result["extra_per_million"].items():
        print(f"{label:<40}{usd:>14.2f}")
    if args.json:
        args.json.write_text(json.dumps({"prices": asdict(prices), "waits": asdict(waits), **result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
