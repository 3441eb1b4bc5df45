"""Fixtures: a BeilyPay emulator on 127.0.0.1 with the SDK sample app, and a notify receiver."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.beilypay.app import BeilyPayAppConfig, BeilyPayConfig, create_app
from sandbox.common.receiver import RecordingReceiver
from sandbox.common.server import serve_in_thread
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


@pytest.fixture
def receiver_server() -> Iterator[tuple[RecordingReceiver, str]]:
    receiver = RecordingReceiver()
    server = serve_in_thread(receiver.app)
    yield receiver, server.url
    server.stop()


@pytest.fixture
def config() -> BeilyPayConfig:
    """Override in a module (or mutate before ``sandbox`` starts) to change the emulator's settings."""
    return make_config()


@pytest.fixture
def sandbox(config: BeilyPayConfig, receiver_server: tuple[RecordingReceiver, str]) -> Iterator[Sandbox]:
    receiver, receiver_url = receiver_server
    server = serve_in_thread(create_app(config))
    with httpx.Client(base_url=server.url, timeout=5.0) as client:
        yield Sandbox(server=server, client=client, receiver=receiver, notify_url=f"{receiver_url}/notify")
    server.stop()
