"""Where no history table is configured nothing breaks: nothing is recorded, every history is empty;
where one is, the console reads what the services wrote through the same wiring."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from paygate import deps
from paygate.history import NO_HISTORY, HistoryEntry
from paygate.models import OrderKind
from tests.support.services import HISTORY_TABLE, order_history_store

APP = "app_0123456789abcdef"


@pytest.fixture
def container(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name, value in {
        "ORDERS_TABLE": "orders",
        "APPS_TABLE": "apps",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ORDER_HISTORY_TABLE", raising=False)
    deps.clear_caches()
    yield monkeypatch
    deps.clear_caches()


def test_without_a_table_recording_does_nothing_and_every_history_is_empty(container):
    history = deps.order_history()  # no AWS at all here: a call would fail for want of an endpoint

    history.record(APP, OrderKind.BILL, "B1", "status.succeeded", {"by": "callback"})

    assert history is NO_HISTORY
    assert history.entries(APP, OrderKind.BILL, "B1") == []
    assert history.entries(APP, OrderKind.PAYOUT, "PO-1", limit=5) == []


def test_with_a_table_the_console_reads_what_the_services_wrote(container):
    container.setenv("ORDER_HISTORY_TABLE", HISTORY_TABLE)
    deps.clear_caches()
    with mock_aws():
        order_history_store()  # creates the table

        deps.order_history().record(APP, OrderKind.PAYOUT, "PO-1", "status.unknown", {"by": "poller"}, at_ms=1_000)
        entries = deps.order_history().entries(APP, OrderKind.PAYOUT, "PO-1")

    assert entries == [
        HistoryEntry(
            app_id=APP,
            kind=OrderKind.PAYOUT,
            order_no="PO-1",
            at_ms=1_000,
            what="status.unknown",
            detail={"by": "poller"},
        )
    ]
