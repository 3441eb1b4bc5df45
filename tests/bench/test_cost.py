"""The cost model adds up the counted calls at the written-down prices and the template's memory."""

from __future__ import annotations

import json

import pytest

from bench import cost as bench_cost


def _op(*, requests: int, wcu: float, rcu: float, provider: int = 0, events: int = 0, starts: int = 0) -> dict:
    return {
        "lambda_invocations": 1,
        "dynamodb": {"requests": requests, "wcu": wcu, "rcu": rcu},
        "provider_requests": provider,
        "eventbridge_entries": events,
        "stepfunctions_starts": starts,
    }


WARM = {
    "calls": {
        "create_bill": _op(requests=3, wcu=2, rcu=0.5, provider=1),
        "bill_callback": _op(requests=2, wcu=1, rcu=0.5, events=1),
        "payout": _op(requests=3, wcu=2, rcu=0.5, provider=1, starts=1),
        "payout_callback": _op(requests=2, wcu=1, rcu=0.5, events=1),
        "poll_pending": _op(requests=1, wcu=0, rcu=0.5),
    },
    "latency": {name: {"overhead_p50_ms": 5.0} for name in ("create_bill", "bill_callback", "payout")},
    "stepfunctions": {"transitions_settled_by_notify": 4, "transitions_pending_day": 26},
}


@pytest.fixture
def result(monkeypatch):
    memory = {function: 512 for function, _ in bench_cost.OPERATIONS.values()}
    monkeypatch.setattr(bench_cost, "memory_sizes", lambda: memory)
    return bench_cost.model(WARM, bench_cost.Prices(), bench_cost.Latencies())


def test_a_payment_is_two_api_calls_and_their_capacity(result):
    payment = result["per_million"]["payment (bill created, paid webhook)"]
    assert payment["api_gateway"] == 7.00  # two REST requests at $3.50 per million
    assert payment["dynamodb"] == pytest.approx(3 * 0.625 + 1 * 0.125, abs=0.01)
    assert payment["eventbridge"] == 1.00
    assert payment["stepfunctions"] == 0


def test_billed_time_stretches_our_cpu_to_the_memory_share_and_adds_the_waits(result):
    # 5 ms on a full core at 512 MB (1769/512 of it), 3 DynamoDB round trips, one provider call
    expected_ms = -(-(5 * 1769 / 512 + 3 * 6 + 350) // 1)
    assert result["per_operation"]["create_bill"]["billed_ms"] == expected_ms
    gb_s = 0.5 * expected_ms / 1000
    assert result["per_operation"]["create_bill"]["lambda"] == pytest.approx(0.2e-6 + gb_s * 0.0000133334)


def test_a_payout_pays_for_its_state_machine_transitions(result):
    payout = result["per_million"]["payout settled by its notify"]
    assert payout["stepfunctions"] == 100.00  # 4 transitions at $25 per million
    assert payout["api_gateway"] == 7.00  # the payout request and BeilyPay's notify; the poll is not an API call
    assert result["extra_per_million"]["payout pending a whole day, Step Functions only"] == 650.00


def test_flows_with_an_operation_not_counted_are_left_out(result):
    assert "refund" not in result["per_million"]


def test_memory_sizes_come_from_the_template():
    sizes = bench_cost.memory_sizes()
    assert set(sizes) >= {function for function, _ in bench_cost.OPERATIONS.values()}
    assert all(128 <= size <= 10240 for size in sizes.values())


def test_the_script_prints_the_model(tmp_path, capsys):
    warm = tmp_path / "warm.json"
    warm.write_text(json.dumps(WARM))
    out = tmp_path / "cost.json"
    assert bench_cost.main(["--warm", str(warm), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "payment (bill created, paid webhook)" in printed
    assert json.loads(out.read_text())["per_million"]["payout settled by its notify"]["total"] > 100


def test_a_payout_whose_first_poll_is_queued_pays_for_that_poll_and_no_transition(result, monkeypatch):
    queued = {**WARM, "calls": {**WARM["calls"], "payout": _op(requests=2, wcu=3, rcu=0, provider=1)}}
    memory = {function: 512 for function, _ in bench_cost.OPERATIONS.values()}
    monkeypatch.setattr(bench_cost, "memory_sizes", lambda: memory)

    after = bench_cost.model(queued, bench_cost.Prices(), bench_cost.Latencies())["per_million"]
    before = result["per_million"]["payout settled by its notify"]
    payout = after["payout settled by its notify"]

    assert payout["stepfunctions"] == 0
    assert payout["sqs"] == pytest.approx(
        3 * bench_cost.Prices().sqs_per_request * 1e6, abs=0.01
    )  # send, receive, delete
    assert payout["total"] < before["total"] - 90  # the 4 transitions ($100) for a first poll's ~$1.5
