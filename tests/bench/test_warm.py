"""The calls a merchant pays for, per operation, stay at their minimum (bench/warm.py's counting part).

One local stack (DynamoDB Local, moto, both sandboxes) for the module; each operation runs its
real handler twice (one warm-up, one counted) in the bench's handler process, not in this one.
No timing is asserted anywhere.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.warm import (
    OPERATIONS,
    Targets,
    cpus_for_this_thread,
    run_bench,
    run_handler_process,
    split_cpus,
    state_machine_transitions,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench() -> dict[str, Any]:
    environ = dict(os.environ)
    result = run_bench(OPERATIONS, iterations=1, warmup=1, floors=False)
    result["environ_changed"] = sorted(k for k in {*environ, *os.environ} if environ.get(k) != os.environ.get(k))
    return result


@pytest.fixture(scope="module")
def calls(bench: dict[str, Any]) -> dict[str, Any]:
    return bench["calls"]


def test_the_handlers_run_in_a_process_of_their_own(bench):
    # the stack (sandboxes, EventBridge pollers, local API) stays in this process; the handlers' GIL is theirs
    assert bench["meta"]["stack_pid"] == os.getpid()
    assert bench["meta"]["handler_pid"] != os.getpid()
    assert bench["environ_changed"] == []  # the functions' environment was the handler process's only


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _targets(env: dict[str, str]) -> Targets:
    unreachable = "http://127.0.0.1:9"
    pythonpath = [str(ROOT), str(ROOT / "layers" / "paygate")]
    return Targets(
        env=env, beecloud_url=unreachable, beilypay_url=unreachable, receiver_url=unreachable, pythonpath=pythonpath
    )


def test_a_failing_handler_process_raises_with_its_stderr_and_is_reaped():
    lines: list[str] = []
    with pytest.raises(RuntimeError, match=r"exited with status 1(.|\n)*ORDERS_TABLE") as failed:
        run_handler_process(_targets({}), ("create_bill",), iterations=1, warmup=1, log=lines.append)
    assert any("ORDERS_TABLE" in line for line in lines)  # its stderr also went to the log, line by line
    match = re.search(r"pid (\d+)", str(failed.value))
    assert match
    assert _gone(int(match[1]))


def test_a_handler_process_that_outlives_its_timeout_is_stopped_and_reaped():
    with pytest.raises(RuntimeError, match="did not finish within") as failed:
        run_handler_process(_targets({}), ("create_bill",), iterations=1, warmup=1, timeout_s=0.05)
    match = re.search(r"pid (\d+)", str(failed.value))
    assert match
    assert _gone(int(match[1]))


def _orders(op: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in op["dynamodb"]["by_operation"].items() if k.startswith("orders:")}


# The API key's app: read once per container per ApiKeyCacheSeconds, so not in a warm request.
AUTH: dict[str, int] = {}


def test_create_bill_is_one_conditional_put_before_the_provider_and_one_update_after(calls):
    op = calls["create_bill"]
    assert op["dynamodb"]["by_operation"] == {
        "orders:PutItem": 1,
        "orders:UpdateItem": 1,
        "history:PutItem": 1,  # BeeCloud's answer
        **AUTH,
    }
    assert op["provider_requests"] == 1
    assert op["eventbridge_entries"] == 0
    assert op["secretsmanager_requests"] == 0  # cached for the container after its first call
    assert op["cold_secretsmanager_requests"] == 1


def test_a_bill_callback_is_one_conditional_update_and_one_event(calls):
    op = calls["bill_callback"]
    assert op["dynamodb"]["by_operation"] == {
        "orders:UpdateItem": 1,
        # the order's history, best effort after the ledger's write: the webhook accepted, the status
        # change, the event published, in one batch (and the day's count of published events, capped)
        "history:BatchWriteItem": 1,
        "history:UpdateItem": 1,
        **AUTH,  # AUTH: the app of the callback URL
    }
    assert op["eventbridge_requests"] == 1
    assert op["eventbridge_entries"] == 1
    assert op["provider_requests"] == 0  # a fully signed webhook needs no confirming query
    assert op["secretsmanager_requests"] == 0


def test_a_refund_is_one_transaction_and_one_update_plus_the_bill_read(calls):
    op = calls["refund"]
    # The bill read stays: its channel and amount are needed before the transaction and the provider call.
    assert _orders(op) == {"orders:GetItem": 1, "orders:TransactWriteItems": 1, "orders:UpdateItem": 1}
    assert "apps:GetItem" not in op["dynamodb"]["by_operation"]
    assert op["provider_requests"] == 1


def test_a_query_is_one_read(calls):
    assert calls["query_bill"]["dynamodb"]["by_operation"] == {"orders:GetItem": 1, **AUTH}
    assert calls["query_bill"]["provider_requests"] == 0


def test_a_payout_is_put_queue_its_first_poll_call_update(calls):
    op = calls["payout"]
    assert op["dynamodb"]["by_operation"] == {
        "orders:PutItem": 1,
        "orders:UpdateItem": 1,
        "history:PutItem": 1,  # BeilyPay's answer
        **AUTH,
    }
    assert (op["sqs_requests"], op["stepfunctions_starts"]) == (1, 0)  # FirstPollQueue, not the state machine
    assert op["provider_requests"] == 1


def test_a_payout_notify_settles_with_two_updates_and_one_event(calls):
    # the settle (conditional on app, orderNo and amount), then the published-event marker
    op = calls["payout_callback"]
    assert _orders(op) == {"orders:UpdateItem": 2}
    assert op["eventbridge_entries"] == 1
    assert op["stepfunctions_stops"] == 1  # its poller ends here instead of at its first poll


def test_a_list_page_reads_every_shard_of_one_index_and_the_orders_in_one_batch(calls):
    assert _orders(calls["list_bills"]) == {"orders:Query": 17, "orders:BatchGetItem": 1}  # 16 shards + legacy


def test_a_warm_request_searches_the_import_path_for_nothing(calls):
    """A module missing on every request is looked for on the whole path every time (httpcore's sniffio)."""
    assert {name: op["module_lookups"] for name, op in calls.items()} == {name: [] for name in calls}


def test_capacity_is_counted_for_every_dynamodb_request(calls):
    for name, op in calls.items():
        dynamodb = op["dynamodb"]
        assert dynamodb["capacity_source"] in ("returned", "computed", "mixed"), name
        reads = (":GetItem", ":Query", ":BatchGetItem")
        writes = sum(v for k, v in dynamodb["by_operation"].items() if not k.endswith(reads))
        assert dynamodb["wcu"] >= writes, name
        assert dynamodb["rcu"] > 0 or dynamodb["requests"] == writes, name


def test_step_functions_transitions_per_payout():
    transitions = state_machine_transitions()
    assert transitions["transitions_settled_by_notify"] == 1  # the first Wait, stopped by the notify
    assert transitions["transitions_settled_by_notify_unstopped"] == 4  # Wait, PollPending, Final?, Done
    assert transitions["transitions_pending_day"] < 30


def test_the_stack_is_kept_off_the_handler_processs_cpu_and_the_caller_gets_its_cpus_back():
    before = os.sched_getaffinity(0)
    split = split_cpus()
    if len(before) < 2:
        assert split is None  # one CPU: nothing to split, everything shares it
        return
    assert split is not None
    handler, stack = split
    assert len(handler) == 1
    assert handler.isdisjoint(stack)
    assert handler | stack == before
    with cpus_for_this_thread(stack):
        child = subprocess.run(
            [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"],
            capture_output=True,
            text=True,
            check=True,
        )
    assert child.stdout.strip() == str(sorted(stack))  # what the stack starts inherits it (JVM, workers)
    assert os.sched_getaffinity(0) == before
