"""Fixtures: a BeilyPay emulator on 127.0.0.1 with the SDK sample app, and a notify receiver.

One emulator and one receiver serve the whole session (starting and stopping uvicorn costs
~0.2 s); ``sandbox`` resets both before each test. Tests that need other settings use
``make_sandbox``, which starts a dedicated emulator.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from sandbox.beilypay.app import BeilyPayAppConfig, BeilyPayConfig, create_app
from sandbox.common.receiver import RecordingReceiver
from sandbox.common.server import RunningServer, serve_in_thread
from tests.sandbox.beilypay.beilypay_support import (
    APP_ID,
    BALANCE,
    MERCHANT_ID,
    NOTIFY_SCHEDULE,
    PAYOUT_DELAY_S,
    SECRET,
    TIME_SCALE,
    Sandbox,
)


def make_config(**overrides: object) -> BeilyPayConfig:
    config = BeilyPayConfig(
        apps=[BeilyPayAppConfig(app_id=APP_ID, merchant_id=MERCHANT_ID, secret=SECRET, balance=BALANCE)],
        time_scale=TIME_SCALE,
        payout_delay_s=PAYOUT_DELAY_S,
        notify_schedule=NOTIFY_SCHEDULE,
        notify_timeout_s=2.0,
    )
    for name, value in overrides.items():
        setattr(config, name, value)
    return config


@pytest.fixture(scope="session")
def beilypay_receiver() -> Iterator[tuple[RecordingReceiver, str]]:
    receiver = RecordingReceiver()
    server = serve_in_thread(receiver.app)
    yield receiver, server.url
    server.stop()


@pytest.fixture(scope="session")
def beilypay_server() -> Iterator[RunningServer]:
    server = serve_in_thread(create_app(make_config()))
    yield server
    server.stop()


@pytest.fixture
def sandbox(beilypay_server: RunningServer, beilypay_receiver: tuple[RecordingReceiver, str]) -> Iterator[Sandbox]:
    """The shared emulator, reset (orders, balances, faults, deliveries), and an empty receiver."""
    receiver, receiver_url = beilypay_receiver
    with httpx.Client(base_url=beilypay_server.url, timeout=5.0) as client:
        assert client.post("/_sandbox/reset").status_code == 200
        path = f"/notify/{uuid.uuid4().hex}"  # this test's: earlier tests' late notifies go elsewhere
        receiver.reset(only_under=path)
        yield Sandbox(server=beilypay_server, client=client, receiver=receiver, notify_url=receiver_url + path)


@pytest.fixture
def make_sandbox(
    sandbox: Sandbox,
) -> Iterator[Callable[..., Sandbox]]:
    """Start a dedicated emulator with ``make_config(**overrides)``; it is stopped after the test."""
    started: list[tuple[RunningServer, httpx.Client]] = []

    def start(**overrides: object) -> Sandbox:
        server = serve_in_thread(create_app(make_config(**overrides)))
        client = httpx.Client(base_url=server.url, timeout=5.0)
        started.append((server, client))
        return Sandbox(server=server, client=client, receiver=sandbox.receiver, notify_url=sandbox.notify_url)

    yield start
    for server, client in started:
        client.close()
        server.stop()
