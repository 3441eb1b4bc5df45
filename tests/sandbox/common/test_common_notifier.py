"""Notifier: retries until acknowledged, gives up after the schedule, applies callback faults."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import Any

import pytest

from sandbox.common.faults import FaultPlan
from sandbox.common.notifier import Notifier
from sandbox.common.receiver import RecordingReceiver
from sandbox.common.server import serve_in_thread
from tests.sandbox.common.common_support import SCHEDULE, TIME_SCALE, Receiver, Running
from tests.support.polling import WAIT_S

BODY: dict[str, Any] = {"orderNo": "1", "status": 2, "sign": "ABCDEF0123456789ABCDEF0123456789"}


def wait_until_settled(mini: Running, ref: str, count: int, timeout_s: float = WAIT_S) -> list[dict[str, Any]]:
    """Poll the control API until ``count`` attempts are logged for ``ref`` (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        attempts = mini.attempts(ref)
        if len(attempts) >= count:
            return attempts
        time.sleep(0.01)
    raise AssertionError(f"only {len(mini.attempts(ref))} of {count} attempts for {ref}")


def test_retries_until_acknowledged(mini: Running, receiver: Receiver) -> None:
    recording, url = receiver
    recording.queue_replies("FAIL", "error")

    submitted = time.time()
    mini.notify("o1", f"{url}/notify", BODY)
    attempts = wait_until_settled(mini, "o1", 3)

    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert [a["acked"] for a in attempts] == [False, False, True]
    assert [a["response_body"] for a in attempts] == ["FAIL", "error", "SUCC"]
    got = recording.wait_for(3)
    assert [r.json() for r in got] == [BODY] * 3
    assert got[0].content_type == "application/json"
    assert got[1].at - submitted >= SCHEDULE[1] * TIME_SCALE * 0.9
    assert got[2].at - submitted >= SCHEDULE[2] * TIME_SCALE * 0.9
    assert mini.emulator.notifier.in_flight() == 0


def test_gives_up_when_the_schedule_is_exhausted(mini: Running, receiver: Receiver) -> None:
    recording, url = receiver
    recording.default_reply = "no"

    mini.notify("o2", f"{url}/notify", BODY)
    attempts = wait_until_settled(mini, "o2", len(SCHEDULE))

    assert len(attempts) == len(SCHEDULE)
    assert not any(a["acked"] for a in attempts)
    deadline = time.monotonic() + 2
    while mini.emulator.notifier.in_flight() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert mini.emulator.notifier.in_flight() == 0
    assert len(mini.attempts("o2")) == len(SCHEDULE)


def test_connection_error_is_a_failed_attempt(mini: Running) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]

    mini.notify("o3", f"http://127.0.0.1:{dead_port}/notify", BODY)
    attempts = wait_until_settled(mini, "o3", 2)

    assert attempts[0]["status_code"] is None
    assert attempts[0]["error"]
    assert attempts[0]["acked"] is False


def test_attempts_are_filtered_by_ref(mini: Running, receiver: Receiver) -> None:
    _, url = receiver
    mini.notify("a", f"{url}/n", BODY)
    mini.notify("b", f"{url}/n", BODY)
    wait_until_settled(mini, "a", 1)
    wait_until_settled(mini, "b", 1)

    assert {a["ref"] for a in mini.attempts("a")} == {"a"}
    assert {a["ref"] for a in mini.attempts()} == {"a", "b"}


def test_drop_suppresses_every_attempt(mini: Running, receiver: Receiver) -> None:
    recording, url = receiver
    mini.emulator.plan.add(scope="callback", kind="drop", path="o4")

    mini.notify("o4", f"{url}/n", BODY)
    mini.notify("o5", f"{url}/n", BODY)
    wait_until_settled(mini, "o5", 1)
    attempts = wait_until_settled(mini, "o4", 1)

    assert attempts[0]["fault"] == "drop"
    assert attempts[0]["status_code"] is None
    assert [r.json() for r in recording.wait_for(1)] == [BODY]
    time.sleep(SCHEDULE[1] * TIME_SCALE * 2)  # long enough for a retry that must not happen
    assert len(recording.received) == 1


def test_duplicate_delivers_each_attempt_twice(mini: Running, receiver: Receiver) -> None:
    recording, url = receiver
    mini.emulator.plan.add(scope="callback", kind="duplicate")

    mini.notify("o6", f"{url}/n", BODY)
    attempts = wait_until_settled(mini, "o6", 2)

    assert [a["attempt"] for a in attempts] == [1, 1]
    assert all(a["fault"] == "duplicate" for a in attempts)
    assert len(recording.wait_for(2)) == 2


def test_out_of_order_is_delivered_after_the_next_notification(mini: Running, receiver: Receiver) -> None:
    recording, url = receiver
    mini.emulator.plan.add(scope="callback", kind="out_of_order", delay_s=500)  # 5 s scaled

    mini.notify("first", f"{url}/n", {**BODY, "orderNo": "first"})
    mini.notify("second", f"{url}/n", {**BODY, "orderNo": "second"})
    got = recording.wait_for(2, timeout_s=3)

    assert [r.json()["orderNo"] for r in got] == ["second", "first"]


def test_out_of_order_goes_out_after_delay_when_nothing_follows(mini: Running, receiver: Receiver) -> None:
    recording, url = receiver
    mini.emulator.plan.add(scope="callback", kind="out_of_order", delay_s=20)  # 0.2 s scaled

    started = time.time()
    mini.notify("alone", f"{url}/n", BODY)
    got = recording.wait_for(1, timeout_s=3)

    assert got[0].at - started >= 20 * TIME_SCALE * 0.9


def test_bad_signature_corrupts_the_sign_field(mini: Running, receiver: Receiver) -> None:
    recording, url = receiver
    mini.emulator.plan.add(scope="callback", kind="bad_signature")

    mini.notify("o7", f"{url}/n", BODY)
    sent = recording.wait_for(1)[0].json()

    assert sent["sign"] != BODY["sign"]
    assert sent["sign"].upper() != BODY["sign"].upper()
    assert len(sent["sign"]) == len(BODY["sign"])
    assert {k: v for k, v in sent.items() if k != "sign"} == {k: v for k, v in BODY.items() if k != "sign"}


def test_delay_postpones_the_first_attempt(mini: Running, receiver: Receiver) -> None:
    recording, url = receiver
    mini.emulator.plan.add(scope="callback", kind="delay", delay_s=30)  # 0.3 s scaled

    started = time.time()
    mini.notify("o8", f"{url}/n", BODY)
    got = recording.wait_for(1)

    assert got[0].at - started >= 30 * TIME_SCALE * 0.9


def test_drain_waits_for_in_flight_deliveries(receiver: Receiver) -> None:
    recording, url = receiver
    recording.queue_replies("nope")

    async def scenario() -> int:
        notifier = Notifier(
            schedule=(0, 10),
            time_scale=TIME_SCALE,
            is_ack=lambda text: "SUCC" in text,
            faults=FaultPlan(),
            signature_field="sign",
        )
        notifier.submit(ref="r", url=f"{url}/n", body=BODY)
        await notifier.drain(5.0)
        count = len(notifier.attempts("r"))
        await notifier.aclose()
        return count

    assert asyncio.run(scenario()) == 2


def test_drain_raises_when_deliveries_outlive_it() -> None:
    server = serve_in_thread(RecordingReceiver(default_reply="no").app)

    async def scenario() -> None:
        notifier = Notifier(
            schedule=(0, 100),
            time_scale=1.0,
            is_ack=lambda text: "SUCC" in text,
            faults=FaultPlan(),
            signature_field="sign",
        )
        notifier.submit(ref="r", url=f"{server.url}/n", body=BODY)
        try:
            await notifier.drain(0.2)
        finally:
            await notifier.aclose()

    try:
        with pytest.raises(TimeoutError):
            asyncio.run(scenario())
    finally:
        server.stop()


@pytest.mark.parametrize("schedule", [(), (5, 1), (-1,)])
def test_bad_schedules_are_rejected(schedule: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="schedule"):
        Notifier(schedule=schedule, time_scale=1, is_ack=bool, faults=FaultPlan(), signature_field="sign")


def test_bad_signature_corrupts_every_named_signature_field(receiver: Receiver) -> None:
    recording, url = receiver
    body = {"v": 1, "signature": "a" * 32, "sign": "b" * 32}

    async def scenario() -> None:
        plan = FaultPlan()
        plan.add(scope="callback", kind="bad_signature")
        notifier = Notifier(
            schedule=(0,),
            time_scale=TIME_SCALE,
            is_ack=lambda text: "SUCC" in text,
            faults=plan,
            signature_field=("signature", "sign"),
        )
        notifier.submit(ref="r", url=f"{url}/n", body=body)
        await notifier.drain(5.0)
        await notifier.aclose()

    asyncio.run(scenario())
    sent = recording.wait_for(1)[0].json()

    assert sent["v"] == 1
    assert sent["signature"] != body["signature"]
    assert sent["sign"] != body["sign"]


def test_log_lines_name_the_receiver_without_its_query(
    mini: Running, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sandbox.notifier")
    _recording, url = receiver

    mini.notify("o-log", f"{url}/notify?token=query-secret", BODY)

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "sandbox.notifier"]

    deadline = time.monotonic() + 5.0
    while not [line for line in lines() if "attempt 1 for o-log" in line] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [line for line in lines() if f"attempt 1 for o-log -> {url}/notify " in line]
    assert not [line for line in lines() if "query-secret" in line]
