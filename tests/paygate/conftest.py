"""Fixtures of the service tests: the orders table on moto (ledger and transfers views), a recording publisher."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from paygate.store.orders import OrdersStore
from paygate.store.transfers import TransfersStore
from tests.support.services import RecordingPublisher, orders_table


@pytest.fixture
def orders() -> Iterator[OrdersStore]:
    with orders_table() as client:
        yield OrdersStore(client, "orders")


@pytest.fixture
def store() -> Iterator[TransfersStore]:
    with orders_table() as client:
        yield TransfersStore(client, "orders")


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()
