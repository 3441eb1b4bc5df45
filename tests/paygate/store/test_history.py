"""Each order's history as the console reads it: its own entries only, oldest first, kept 400 days,
and the entries anyone can provoke capped per order and day."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from paygate.history import CALLBACK_ACCEPTED, CALLBACK_REFUSED, DAILY_CAP, EVENT_PUBLISHED, HistoryEntry
from paygate.models import OrderKind
from paygate.store.history import KEEP_S, OrderHistoryStore
from tests.support.services import HISTORY_TABLE, NOW_MS, order_history_store, ticking_clock

APP = "app_0123456789abcdef"
BILL = OrderKind.BILL
DAY_MS = 24 * 3600 * 1000
REFUSED = {"source": "beecloud", "reason": "signature_mismatch"}


@pytest.fixture
def history() -> Iterator[OrderHistoryStore]:
    with mock_aws():
        yield order_history_store(ticking_clock())


def _whats(entries: list[HistoryEntry]) -> list[str]:
    return [entry.what for entry in entries]


def test_entries_come_back_oldest_first_for_that_order_only(history):
    history.record(APP, BILL, "B1", "provider.created")
    history.record(APP, BILL, "B2", "provider.created")
    history.record(APP, OrderKind.REFUND, "B1", "provider.created")  # another kind, same number
    history.record("app_other", BILL, "B1", "provider.created")  # another app, same number
    history.record(APP, BILL, "B1", "status.succeeded", {"by": "callback"})
    history.record(APP, BILL, "B1", EVENT_PUBLISHED, {"event_type": "bill.succeeded", "event_id": "e-1"})

    entries = history.entries(APP, BILL, "B1")

    assert _whats(entries) == ["provider.created", "status.succeeded", EVENT_PUBLISHED]
    assert entries[1] == HistoryEntry(
        app_id=APP, kind=BILL, order_no="B1", at_ms=NOW_MS + 4, what="status.succeeded", detail={"by": "callback"}
    )
    assert history.entries(APP, BILL, "B9") == []


def test_an_entry_keeps_its_detail_types_and_is_kept_400_days(history):
    history.record(APP, BILL, "B1", CALLBACK_ACCEPTED, {"source": "beecloud", "outcome": "applied", "changed": True})
    history.record(APP, BILL, "B1", "provider.rejected", {"code": "provider_rejected", "provider_code": 7})

    entries = history.entries(APP, BILL, "B1")
    item = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=HISTORY_TABLE)["Items"][0]

    assert entries[0].detail == {"source": "beecloud", "outcome": "applied", "changed": True}
    assert entries[1].detail == {"code": "provider_rejected", "provider_code": 7}
    assert int(item["expires_at"]["N"]) == int(item["at_ms"]["N"]) // 1000 + KEEP_S
    assert KEEP_S == 400 * 24 * 3600


def test_facts_of_one_millisecond_read_in_the_order_they_happen():
    with mock_aws():
        history = order_history_store(lambda: NOW_MS)  # a clock that never moves
        history.record(APP, BILL, "B1", EVENT_PUBLISHED, {"event_type": "bill.succeeded", "event_id": "e-1"})
        history.record(APP, BILL, "B1", "status.succeeded", {"by": "callback"})
        history.record(APP, BILL, "B1", CALLBACK_ACCEPTED, {"source": "beecloud", "outcome": "applied"})
        history.record(APP, BILL, "B1", "provider.created")

        assert _whats(history.entries(APP, BILL, "B1")) == [
            "provider.created",
            CALLBACK_ACCEPTED,
            "status.succeeded",
            EVENT_PUBLISHED,
        ]


def test_an_explicit_time_places_the_entry_where_it_belongs(history):
    history.record(APP, BILL, "B1", "status.succeeded", {"by": "callback"})
    history.record(APP, BILL, "B1", CALLBACK_ACCEPTED, {"source": "beecloud", "outcome": "applied"}, at_ms=NOW_MS - 5)

    assert _whats(history.entries(APP, BILL, "B1")) == [CALLBACK_ACCEPTED, "status.succeeded"]


def test_limit_keeps_the_oldest(history):
    for n in range(7):
        history.record(APP, BILL, "B1", "provider.created", {"n": n})

    assert [e.detail["n"] for e in history.entries(APP, BILL, "B1", limit=5)] == [0, 1, 2, 3, 4]


def test_refusals_stop_at_the_daily_cap_per_order_and_start_again_the_next_day():
    day = {"ms": NOW_MS}
    with mock_aws():
        history = order_history_store(lambda: day["ms"])
        for _ in range(DAILY_CAP + 5):
            history.record(APP, BILL, "B1", CALLBACK_REFUSED, REFUSED)
        history.record(APP, BILL, "B2", CALLBACK_REFUSED, REFUSED)  # another bill has its own count
        history.record(APP, BILL, "B1", "status.succeeded", {"by": "callback"})  # a real change is never capped
        first_day = history.entries(APP, BILL, "B1")
        day["ms"] += DAY_MS
        history.record(APP, BILL, "B1", CALLBACK_REFUSED, REFUSED)

        assert DAILY_CAP == 20
        assert _whats(first_day) == [CALLBACK_REFUSED] * DAILY_CAP + ["status.succeeded"]
        assert len(history.entries(APP, BILL, "B2")) == 1
        assert len(history.entries(APP, BILL, "B1")) == DAILY_CAP + 2


@pytest.mark.parametrize(
    ("what", "detail"),
    [
        (CALLBACK_ACCEPTED, {"source": "beilypay", "outcome": "duplicate", "changed": False}),
        (CALLBACK_ACCEPTED, {"source": "beecloud", "outcome": "ignored", "changed": False}),
        (EVENT_PUBLISHED, {"event_type": "bill.succeeded", "event_id": "e-1"}),
    ],
)
def test_repeats_and_republished_events_are_capped_too(history, what, detail):
    for _ in range(DAILY_CAP + 3):
        history.record(APP, BILL, "B1", what, detail)
    history.record(APP, BILL, "B1", CALLBACK_ACCEPTED, {"source": "beecloud", "outcome": "applied", "changed": True})

    entries = history.entries(APP, BILL, "B1")

    assert len(entries) == DAILY_CAP + 1  # the one that changed the order is never capped
    assert entries[-1].detail["outcome"] == "applied"


def test_a_history_that_cannot_be_written_is_logged_and_never_raises(caplog):
    caplog.set_level(logging.WARNING)
    with mock_aws():
        missing = OrderHistoryStore(boto3.client("dynamodb", region_name="us-east-1"), "no-such-table")

        missing.record(APP, BILL, "B1", "status.succeeded", {"by": "callback"})
        missing.record(APP, BILL, "B1", CALLBACK_REFUSED, REFUSED)  # the counter fails first

        with pytest.raises(Exception, match=r"ResourceNotFound|non-existent"):
            missing.entries(APP, BILL, "B1")  # reading is not best effort: the console says so
    warnings = [r for r in caplog.records if r.getMessage() == "order history not written"]
    assert len(warnings) == 2
    assert warnings[0].__dict__.get("error") == "ResourceNotFoundException"
    assert "signature_mismatch" not in caplog.text  # the entry itself is not logged


class _Counting:
    """The moto client, counting requests by operation; `unprocessed` leaves that many items out of a batch."""

    def __init__(self, client: object, unprocessed: int = 0) -> None:
        self._client = client
        self.unprocessed = unprocessed
        self.requests: list[str] = []

    def __getattr__(self, name: str) -> object:
        method = getattr(self._client, name)

        def call(**request: object) -> object:
            self.requests.append(name)
            if name == "batch_write_item" and self.unprocessed:
                ((table, items),) = request["RequestItems"].items()  # type: ignore[attr-defined]
                left, self.unprocessed = items[: self.unprocessed], 0
                response = method(RequestItems={table: items[len(left) :]})
                return {**response, "UnprocessedItems": {table: left}}
            return method(**request)

        return call


def _collecting_store(unprocessed: int = 0) -> tuple[OrderHistoryStore, _Counting]:
    order_history_store()  # the table
    counting = _Counting(boto3.client("dynamodb", region_name="us-east-1"), unprocessed)
    return OrderHistoryStore(counting, HISTORY_TABLE, clock=ticking_clock()), counting


def test_entries_collected_during_a_callback_are_written_in_one_request_at_its_end():
    """A notification that moves an order: its entry, the status change and the event, one round trip."""
    with mock_aws():
        history, counting = _collecting_store()
        with history.collected():
            history.record(APP, BILL, "B1", CALLBACK_ACCEPTED, {"source": "beecloud", "outcome": "applied"})
            history.record(APP, BILL, "B1", "status.succeeded", {"by": "callback"})
            history.record(APP, BILL, "B1", EVENT_PUBLISHED, {"event_type": "bill.succeeded", "event_id": "e-1"})
            assert history.entries(APP, BILL, "B1") == []  # nothing yet
            assert counting.requests == ["update_item", "query"]  # the event's daily slot, and that read

        assert counting.requests[-1] == "batch_write_item"
        assert counting.requests.count("batch_write_item") == 1
        assert _whats(history.entries(APP, BILL, "B1")) == [CALLBACK_ACCEPTED, "status.succeeded", EVENT_PUBLISHED]


def test_collected_entries_are_written_when_the_work_fails_and_a_capped_one_still_counts():
    with mock_aws():
        history, _ = _collecting_store()

        def callback_failing_after_recording() -> None:
            with history.collected():
                for _ in range(DAILY_CAP + 2):
                    history.record(APP, BILL, "B1", CALLBACK_REFUSED, REFUSED)
                with history.collected():  # nested: the outer one writes
                    history.record(APP, BILL, "B1", "status.failed", {"by": "callback"})
                raise RuntimeError("the callback failed after recording")

        with pytest.raises(RuntimeError):
            callback_failing_after_recording()

        assert _whats(history.entries(APP, BILL, "B1")) == [CALLBACK_REFUSED] * DAILY_CAP + ["status.failed"]


def test_a_batch_over_25_entries_goes_in_chunks_and_unprocessed_ones_are_sent_again(monkeypatch):
    monkeypatch.setattr("paygate.store.history.time.sleep", lambda _s: None)
    with mock_aws():
        history, counting = _collecting_store(unprocessed=3)
        with history.collected():
            for n in range(30):
                history.record(APP, BILL, "B1", "status.succeeded", {"n": n})

        assert counting.requests.count("batch_write_item") == 3  # 25 (3 left over), those 3, then 5
        assert sorted(entry.detail["n"] for entry in history.entries(APP, BILL, "B1")) == list(range(30))


def test_a_batch_that_cannot_be_written_is_logged_and_never_raises(caplog):
    caplog.set_level(logging.WARNING)
    with mock_aws():
        missing = OrderHistoryStore(boto3.client("dynamodb", region_name="us-east-1"), "no-such-table")
        with missing.collected():
            missing.record(APP, BILL, "B1", "status.succeeded", {"by": "callback"})
    warnings = [r for r in caplog.records if r.getMessage() == "order history not written"]
    logged = [(w.__dict__.get("entries"), w.__dict__.get("error")) for w in warnings]
    assert logged == [(1, "ResourceNotFoundException")]
