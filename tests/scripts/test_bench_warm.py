"""The calls a merchant pays for, per operation, stay at their minimum (scripts/bench_warm.py's counting part).

One local stack (DynamoDB Local, moto, both sandboxes) for the module; each operation runs its
real handler in-process twice (one warm-up, one counted). No timing is asserted anywhere.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from scripts.bench_warm import run_bench, state_machine_transitions

OPERATIONS = ("create_bill", "bill_callback", "refund", "query_bill", "payout", "payout_callback")


@pytest.fixture(scope="module")
def calls() -> Iterator[dict[str, Any]]:
    saved = dict(os.environ)
    try:
        with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            result = run_bench(OPERATIONS, iterations=1, warmup=1, floors=False)
        yield result["calls"]
    finally:
        os.environ.clear()
        os.environ.update(saved)
        _clear_container_caches()


def _clear_container_caches() -> None:
    """The bench filled paygate's per-container caches with clients of a stack that is gone."""
    from aws_lambda_powertools.utilities import parameters

    from paygate import aws, deps, settings
    from paygate.api import idempotency

    aws.clear_caches()
    settings.get_settings.cache_clear()
    for name in dir(deps):
        getattr(getattr(deps, name), "cache_clear", lambda: None)()
    idempotency._persistence.cache_clear()
    parameters.clear_caches()


def _orders(op: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in op["dynamodb"]["by_operation"].items() if k.startswith("orders:")}


AUTH = {"apps:GetItem": 1}  # the API key's app, read on every request (revocation is immediate)


def test_create_bill_is_one_conditional_put_before_the_provider_and_one_update_after(calls):
    op = calls["create_bill"]
    assert op["dynamodb"]["by_operation"] == {"orders:PutItem": 1, "orders:UpdateItem": 1, **AUTH}
    assert op["provider_requests"] == 1
    assert op["eventbridge_entries"] == 0
    assert op["secretsmanager_requests"] == 0  # cached for the container after its first call
    assert op["cold_secretsmanager_requests"] == 1


def test_a_bill_callback_is_one_conditional_update_and_one_event(calls):
    op = calls["bill_callback"]
    assert op["dynamodb"]["by_operation"] == {"orders:UpdateItem": 1, **AUTH}  # AUTH: the app of the callback URL
    assert op["eventbridge_requests"] == 1
    assert op["eventbridge_entries"] == 1
    assert op["provider_requests"] == 0  # a fully signed webhook needs no confirming query
    assert op["secretsmanager_requests"] == 0


def test_a_refund_is_one_transaction_and_one_update_plus_the_bill_read(calls):
    op = calls["refund"]
    # The bill read stays: its channel and amount are needed before the transaction and the provider call.
    assert _orders(op) == {"orders:GetItem": 1, "orders:TransactWriteItems": 1, "orders:UpdateItem": 1}
    assert op["dynamodb"]["by_operation"]["apps:GetItem"] == 1
    assert op["provider_requests"] == 1


def test_a_query_is_one_read(calls):
    assert calls["query_bill"]["dynamodb"]["by_operation"] == {"orders:GetItem": 1, **AUTH}
    assert calls["query_bill"]["provider_requests"] == 0


def test_a_payout_is_put_start_call_update(calls):
    op = calls["payout"]
    assert op["dynamodb"]["by_operation"] == {"orders:PutItem": 1, "orders:UpdateItem": 1, **AUTH}
    assert op["stepfunctions_starts"] == 1
    assert op["provider_requests"] == 1


def test_a_payout_notify_settles_with_two_updates_and_one_event(calls):
    # the settle (conditional on app, orderNo and amount), then the published-event marker
    op = calls["payout_callback"]
    assert _orders(op) == {"orders:UpdateItem": 2}
    assert op["eventbridge_entries"] == 1
    assert op["stepfunctions_stops"] == 1  # its poller ends here instead of at its first poll


def test_capacity_is_counted_for_every_dynamodb_request(calls):
    for name, op in calls.items():
        dynamodb = op["dynamodb"]
        assert dynamodb["capacity_source"] in ("returned", "computed", "mixed"), name
        writes = sum(v for k, v in dynamodb["by_operation"].items() if not k.endswith(":GetItem"))
        assert dynamodb["wcu"] >= writes, name


def test_step_functions_transitions_per_payout():
    transitions = state_machine_transitions()
    assert transitions["transitions_settled_by_notify"] == 1  # the first Wait, stopped by the notify
    assert transitions["transitions_settled_by_notify_unstopped"] == 4  # Wait, PollPending, Final?, Done
    assert transitions["transitions_pending_day"] < 30
