"""The poll schedule's arithmetic, execution names, and the state machine's shape (classic JSONPath)."""

from __future__ import annotations

import json
import re

import pytest

from paygate.models import OrderKind, Payout, TransferStatus
from paygate.transfers.poller import PollSchedule, PollState, execution_name, initial_state, next_wait
from tests.support.template import ROOT

ASL = json.loads((ROOT / "statemachines" / "poll_pending.asl.json").read_text())
TRANSITIONS_PER_ROUND = 3  # Wait -> PollPending -> Final?
DAY_S = 86_400


def _state(wait: int, cap: int = 3600, deadline_ms: int = DAY_S * 1000, growth: int = 2) -> PollState:
    return PollState(
        kind="payout", app_id="app_0123456789abcdef", out_order_no="PO-1", wait_seconds=wait,
        max_wait_seconds=cap, deadline_ms=deadline_ms, growth=growth,
    )  # fmt: skip


def simulate(first_s: int, cap_s: int, deadline_s: int, growth: int = 2) -> int:
    """Polls made for an order that stays pending until the deadline (times in s from creation)."""
    state, now_s, polls = _state(first_s, cap_s, deadline_s * 1000, growth), 0, 0
    while True:
        now_s += state.wait_seconds
        polls += 1
        if now_s * 1000 >= state.deadline_ms:
            return polls
        state = state.model_copy(update={"wait_seconds": next_wait(state, now_s * 1000)})


def test_waits_double_up_to_the_cap():
    waits, state = [], _state(30)
    for now_s in range(0, 20_000, 1000):
        state = state.model_copy(update={"wait_seconds": next_wait(state, now_s * 1000)})
        waits.append(state.wait_seconds)
    assert waits[:8] == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_the_last_wait_ends_at_the_deadline():
    assert next_wait(_state(3600, deadline_ms=100_000), now=99_000) == 1
    assert next_wait(_state(3600, deadline_ms=100_000), now=60_500) == 40


def test_a_zero_first_wait_still_grows():
    assert next_wait(_state(0), now=0) == 1


def test_production_defaults_keep_a_day_pending_payout_under_30_transitions():
    defaults = PollSchedule(30, 28_800, DAY_S)
    polls = simulate(defaults.first_wait_s, defaults.max_wait_s, defaults.deadline_s, defaults.growth)
    transitions = polls * TRANSITIONS_PER_ROUND + 2  # + MarkUnknown + Unknown
    assert polls == 8  # at 30 s, 2.5 min, 10.5 min, 42.5 min, 2.8 h, 10.8 h, 18.8 h and the 24 h deadline
    assert transitions == 26


def test_waits_grow_by_the_factor():
    waits, state = [], _state(30, cap=28_800, growth=4)
    for now_s in range(0, 20_000, 1000):
        state = state.model_copy(update={"wait_seconds": next_wait(state, now_s * 1000)})
        waits.append(state.wait_seconds)
    assert waits[:6] == [120, 480, 1920, 7680, 28_800, 28_800]


def test_executions_started_before_the_growth_factor_keep_doubling():
    legacy = PollState.model_validate(
        {
            "kind": "payout",
            "app_id": "app_0123456789abcdef",
            "out_order_no": "PO-1",
            "wait_seconds": 30,
            "max_wait_seconds": 3600,
            "deadline_ms": DAY_S * 1000,
        }
    )
    assert next_wait(legacy, now=0) == 60


def test_the_old_doubling_schedule_cost_92_transitions_a_pending_day():
    assert simulate(30, 3600, DAY_S) * TRANSITIONS_PER_ROUND + 2 == 92


@pytest.mark.parametrize(("first", "cap", "polls"), [(10, 3600, 32), (60, 3600, 29), (60, 7200, 18)])
def test_other_schedules(first, cap, polls):
    assert simulate(first, cap, DAY_S) == polls


def test_execution_names_fit_step_functions_rules():
    name = execution_name(OrderKind.COLLECTION, "app_0123456789abcdef", "x" * 32)
    assert len(name) <= 80
    assert re.fullmatch(r"[0-9A-Za-z_-]+", name)


def test_the_initial_state_depends_on_the_stored_order_only():
    payout = Payout(
        app_id="app_0123456789abcdef", out_order_no="PO-1", amount=100, account_type="Card", account_last4="1234",
        account_owner="A", bank_code="SBIN", ifsc="SBIN0001234", status=TransferStatus.PENDING,
        provider_state="calling", request_hash="h", created_at_ms=1_000, updated_at_ms=1_000,
    )  # fmt: skip
    schedule = PollSchedule(30, 3600, DAY_S)
    first = initial_state(OrderKind.PAYOUT, payout, schedule)
    again = initial_state(OrderKind.PAYOUT, payout.model_copy(update={"updated_at_ms": 9_999}), schedule)
    assert first == again
    assert first.deadline_ms == 1_000 + DAY_S * 1000


def test_the_state_machine_is_wait_poll_choice_loop_with_a_deadline_exit():
    states = ASL["States"]
    assert ASL["StartAt"] == "Wait"
    assert states["Wait"] == {"Type": "Wait", "SecondsPath": "$.wait_seconds", "Next": "PollPending"}
    assert states["PollPending"]["Next"] == "Final?"
    choices = {c["StringEquals"]: c["Next"] for c in states["Final?"]["Choices"]}
    assert choices == {"final": "Done", "expired": "MarkUnknown"}
    assert states["Final?"]["Default"] == "Wait"
    assert states["MarkUnknown"]["Next"] == "Unknown"
    assert states["MarkUnknown"]["Parameters"]["action"] == "expire"
    assert states["Unknown"]["Type"] == "Fail"
    retried = {e for r in states["PollPending"]["Retry"] for e in r["ErrorEquals"]}
    assert {"Lambda.ServiceException", "Lambda.TooManyRequestsException", "Lambda.SdkClientException"} <= retried


def test_the_state_machine_uses_classic_jsonpath_only():
    text = json.dumps(ASL)
    assert "JSONata" not in text
    assert "{%" not in text
    assert "Assign" not in text
    for state in ASL["States"].values():
        for choice in state.get("Choices", []):
            assert choice["Variable"].startswith("$.")  # never a $variable (moto takes the Default)


def test_the_task_input_of_mark_unknown_is_a_valid_poll_state():
    params = ASL["States"]["MarkUnknown"]["Parameters"]
    fields = {k.removesuffix(".$") for k in params}
    assert fields <= set(PollState.model_fields)
