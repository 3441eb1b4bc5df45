"""Fixtures for sandbox.common tests: a running mini emulator and a recording receiver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from sandbox.common.faults import FaultPlan
from sandbox.common.notifier import Notifier
from sandbox.common.receiver import RecordingReceiver
from sandbox.common.server import serve_in_thread
from tests.sandbox.common.common_support import SCHEDULE, TIME_SCALE, MiniEmulator, Running


@pytest.fixture(scope="session")
def mini_server() -> Iterator[Running]:
    """One mini emulator for the whole session; ``mini`` resets it before each test."""
    plan = FaultPlan()
    notifier = Notifier(
        schedule=SCHEDULE,
        time_scale=TIME_SCALE,
        is_ack=lambda text: "SUCC" in text,
        faults=plan,
        signature_field="sign",
        timeout_s=2.0,
    )
    emulator = MiniEmulator(plan=plan, notifier=notifier)
    server = serve_in_thread(emulator.app())
    with httpx.Client(base_url=server.url, timeout=5.0) as client:
        yield Running(emulator, server, client)
    server.stop()


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[tuple[RecordingReceiver, str]]:
    recording = RecordingReceiver()
    server = serve_in_thread(recording.app)
    yield recording, server.url
    server.stop()


@pytest.fixture
def mini(mini_server: Running) -> Running:
    """The shared mini emulator with no state, faults or deliveries left from earlier tests."""
    assert mini_server.client.post("/_sandbox/reset").status_code == 200
    mini_server.emulator.resets = 0
    return mini_server


@pytest.fixture
def receiver(mini: Running, receiver_server: tuple[RecordingReceiver, str]) -> tuple[RecordingReceiver, str]:
    """The shared receiver, emptied after the emulator stopped its deliveries (hence ``mini``), at
    a base URL of this test's own: an earlier test's notification still on the wire lands elsewhere."""
    recording, url = receiver_server
    path = f"/t/{uuid.uuid4().hex}"
    recording.reset(only_under=path)
    return recording, url + path
