"""The shared /_sandbox routes and the thread server helper."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from sandbox.common.receiver import RecordingReceiver
from sandbox.common.server import serve_in_thread
from tests.sandbox.common.common_support import Receiver, Running


def test_health(mini: Running) -> None:
    response = mini.client.get("/_sandbox/health")

    assert response.status_code == 200
    assert response.json() == {"ok": True}


def test_add_list_and_clear_faults(mini: Running) -> None:
    created = mini.client.post(
        "/_sandbox/faults", json={"scope": "request", "kind": "latency", "path": "/api", "delay_s": 2}
    )

    assert created.status_code == 201
    rule = created.json()
    assert rule["kind"] == "latency"
    assert rule["path"] == "/api"
    assert rule["delay_s"] == 2.0
    assert rule["process"] is True
    assert rule["count"] == 1
    assert mini.client.get("/_sandbox/faults").json()["faults"] == [rule]
    assert mini.client.delete("/_sandbox/faults").status_code == 200
    assert mini.client.get("/_sandbox/faults").json()["faults"] == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1]",
        b'{"kind": "error"}',
        b'{"scope": "request", "kind": "teleport"}',
        b'{"scope": "request", "kind": "error", "count": "2"}',
        b'{"scope": "request", "kind": "error", "colour": "red"}',
    ],
)
def test_bad_fault_is_a_400(mini: Running, body: bytes) -> None:
    response = mini.client.post("/_sandbox/faults", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert response.json()["error"]
    assert mini.emulator.plan.list() == []


def test_reset_clears_state_faults_and_attempts(mini: Running, receiver: Receiver) -> None:
    recording, url = receiver
    mini.client.post("/api/echo", json={"n": 1})
    mini.notify("r", f"{url}/n", {"sign": "x"})
    recording.wait_for(1)
    mini.client.post("/_sandbox/faults", json={"scope": "callback", "kind": "drop"})

    response = mini.client.post("/_sandbox/reset")

    assert response.status_code == 200
    assert mini.emulator.resets == 1
    assert mini.emulator.processed == []
    assert mini.emulator.plan.list() == []
    assert mini.attempts() == []


def test_notification_attempts_are_json(mini: Running, receiver: Receiver) -> None:
    recording, url = receiver
    mini.notify("ref-1", f"{url}/n", {"sign": "x", "v": 1})
    recording.wait_for(1)

    attempts = mini.attempts("ref-1")
    while not attempts:  # the attempt is logged just after the receiver answered
        attempts = mini.attempts("ref-1")

    assert set(attempts[0]) == {
        "delivery_id",
        "ref",
        "url",
        "attempt",
        "at",
        "body",
        "status_code",
        "response_body",
        "error",
        "acked",
        "fault",
    }
    assert attempts[0]["body"] == {"sign": "x", "v": 1}
    assert attempts[0]["status_code"] == 200


def test_serve_in_thread_picks_a_port_and_stop_frees_it() -> None:
    server = serve_in_thread(RecordingReceiver().app)
    assert server.url.startswith("http://127.0.0.1:")
    assert httpx.post(f"{server.url}/x", content=b"{}").text == "SUCC"

    server.stop()

    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{server.url}/x", content=b"{}", timeout=1)


def test_small_requests_do_not_wait_for_delayed_acks() -> None:
    """Without TCP_NODELAY each keep-alive POST costs ~40 ms (Nagle + delayed ACK): 20 would take > 0.8 s."""
    server = serve_in_thread(RecordingReceiver().app)
    try:
        with httpx.Client(base_url=server.url) as client:
            client.post("/warm-up", content=b"{}")
            started = time.perf_counter()
            for _ in range(20):
                client.post("/x", content=b"{}")
            elapsed = time.perf_counter() - started
    finally:
        server.stop()

    assert elapsed < 0.6


def test_a_failing_app_is_reported_at_start() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.failed", "message": "boom"})

    with pytest.raises(RuntimeError, match="did not start"):
        serve_in_thread(broken)


def test_redeliver_sends_the_signed_body_again_without_its_fault(mini: Running, receiver: Receiver) -> None:
    recording, url = receiver
    rule = {"scope": "callback", "kind": "bad_signature", "path": "ref-9"}
    assert mini.client.post("/_sandbox/faults", json=rule).status_code == 201
    first = mini.notify("ref-9", f"{url}/n", {"sign": "abc123", "v": 9})
    (corrupted,) = [r.json() for r in recording.wait_for(1)]

    answer = mini.client.post(f"/_sandbox/notifications/{first}/redeliver")

    assert answer.status_code == 202
    assert answer.json()["redelivers"] == first
    again = recording.wait_for(2)[1].json()
    assert corrupted["sign"] != "abc123"
    assert again == {"sign": "abc123", "v": 9}


def test_redelivering_an_unknown_delivery_is_a_404(mini: Running) -> None:
    answer = mini.client.post("/_sandbox/notifications/d999999/redeliver")

    assert answer.status_code == 404
    assert answer.json() == {"error": "no delivery d999999"}
