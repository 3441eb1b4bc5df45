"""Fixtures: a BeeCloud emulator on 127.0.0.1 with a recording webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.beecloud.app import create_app
from sandbox.beecloud.config import BeeCloudAppConfig, BeeCloudConfig
from sandbox.common.receiver import RecordingReceiver
from sandbox.common.server import RunningServer, serve_in_thread
from tests.sandbox.beecloud.beecloud_support import (
    APP_ID,
    APP_SECRET,
    MASTER_SECRET,
    OTHER_APP_ID,
    OTHER_APP_SECRET,
    TEST_SECRET,
    TIME_SCALE,
    MakeSandbox,
    Sandbox,
    fresh_connection_client,
)


class _Started:
    """Servers and clients started by a fixture, stopped in reverse order at its end."""

    def __init__(self) -> None:
        self.servers: list[RunningServer] = []
        self.clients: list[httpx.Client] = []

    def start(self, **settings: Any) -> Sandbox:
        receiver = RecordingReceiver(default_reply="success")
        receiver_server = serve_in_thread(receiver.app)
        self.servers.append(receiver_server)
        webhook_url = receiver_server.url + "/webhook"
        apps = [
            BeeCloudAppConfig(APP_ID, APP_SECRET, MASTER_SECRET, webhook_url, test_secret=TEST_SECRET),
            BeeCloudAppConfig(OTHER_APP_ID, OTHER_APP_SECRET, "other-master", webhook_url),
        ]
        config = BeeCloudConfig(apps=apps, **{"time_scale": TIME_SCALE, **settings})
        app = create_app(config)
        server = serve_in_thread(app)
        self.servers.append(server)
        client = fresh_connection_client(server.url)
        self.clients.append(client)
        return Sandbox(
            server=server,
            emulator=app.state.emulator,
            receiver=receiver,
            receiver_url=webhook_url,
            client=client,
        )

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        for server in reversed(self.servers):
            server.stop()


@pytest.fixture
def make_sandbox() -> Iterator[MakeSandbox]:
    """Start emulators with specific settings (each with its own receiver); stopped afterwards."""
    started = _Started()
    yield started.start
    started.stop()


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Sandbox]:
    """One emulator per test module with the default (scaled) timings: starting one costs ~0.4 s."""
    started = _Started()
    yield started.start()
    started.stop()


@pytest.fixture
def sandbox(shared_sandbox: Sandbox) -> Sandbox:
    """The module's emulator, reset: no bills, refunds, faults or notification log."""
    shared_sandbox.reset()
    return shared_sandbox
