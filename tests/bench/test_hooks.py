"""The bench's own arithmetic: what a transaction costs by AWS's rules, whatever DynamoDB Local says."""

from __future__ import annotations

import contextlib
import importlib
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.hooks import (
    Call,
    Index,
    Recorder,
    Sample,
    _LookupRecorder,
    partitions_touched,
    transaction_capacity,
    waited_s,
)

KEYS = frozenset({"gsi1pk", "gsi1sk"})
NEW_REFUND = {"pk": {"S": "REFUND#a#r1"}, "gsi1pk": {"S": "a#refund"}, "gsi1sk": {"S": "1#r1"}, "fee": {"N": "1"}}
RESERVE_ON_BILL = {
    "TableName": "orders",
    "Key": {"pk": {"S": "BILL#a#b1"}},
    "UpdateExpression": "SET active_refund = :rn ADD refund_reserved :fee",
    "ExpressionAttributeValues": {":rn": {"S": "r1"}, ":fee": {"N": "1"}},
}
REFUND_TRANSACTION = {
    "TransactItems": [{"Put": {"TableName": "orders", "Item": NEW_REFUND}}, {"Update": RESERVE_ON_BILL}],
}


def test_transactional_writes_cost_double_and_a_keys_only_index_only_gets_the_new_item() -> None:
    indexes = {"orders": (Index(KEYS, "KEYS_ONLY"),)}
    # refund put 2 + its index entry 1, bill update 2 and no index write (its keys do not change)
    assert transaction_capacity(REFUND_TRANSACTION, indexes) == 5


def test_an_index_that_projects_all_is_rewritten_by_every_update() -> None:
    indexes = {"orders": (Index(KEYS, "ALL"),)}
    assert transaction_capacity(REFUND_TRANSACTION, indexes) == 6


def test_an_update_that_moves_an_index_key_rewrites_a_keys_only_index() -> None:
    moving = RESERVE_ON_BILL | {
        "UpdateExpression": "SET #sk = :sk",
        "ExpressionAttributeNames": {"#sk": "gsi1sk"},
        "ExpressionAttributeValues": {":sk": {"S": "2#b1"}},
    }
    indexes = {"orders": (Index(KEYS, "KEYS_ONLY"),)}
    assert transaction_capacity({"TransactItems": [{"Update": moving}]}, indexes) == 3


def test_a_table_without_indexes_pays_only_the_doubled_item_writes() -> None:
    assert transaction_capacity(REFUND_TRANSACTION, {}) == 4


def test_waits_made_in_parallel_count_once_and_serial_ones_add_up() -> None:
    """A list page waits on 17 shard queries at once: its AWS time is their span, not their sum."""
    parallel = [Call("dynamodb", "Query", seconds=0.010, ended_at=1.010 + i * 0.001) for i in range(17)]
    serial = [Call("dynamodb", "GetItem", seconds=0.005, ended_at=2.005), Call("http", "POST", 0.003, ended_at=2.010)]

    assert waited_s(parallel) == pytest.approx(0.026)  # from 1.000 to 1.026
    assert waited_s(serial) == pytest.approx(0.008)
    assert Sample(calls=parallel + serial).aws_s == pytest.approx(0.031)
    assert Sample(calls=parallel + serial).http_s == pytest.approx(0.003)
    assert waited_s([Call("dynamodb", "GetItem", seconds=0.004)]) == 0.004  # no end time: counted whole


def test_calls_from_a_thread_pool_belong_to_the_invocation_being_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pool's workers start without the recording's context; their calls still count, and only while recording."""
    recorder = Recorder()
    monkeypatch.setattr(sys, "meta_path", [_LookupRecorder(), *sys.meta_path])  # what install() adds

    def lookup(_: int) -> None:
        with contextlib.suppress(ImportError):
            importlib.import_module("paygate_no_such_module")

    with ThreadPoolExecutor(max_workers=2) as pool:
        with recorder.record() as sample:
            list(pool.map(lookup, range(2)))
        list(pool.map(lookup, range(2)))  # after the recording: nobody's

    assert sample.module_lookups == ["paygate_no_such_module", "paygate_no_such_module"]
    assert sample.cpu_s > 0


def test_batches_touch_the_partition_of_every_item_they_carry() -> None:
    put = {"PutRequest": {"Item": {"pk": {"S": "a#bill#B1"}, "sk": {"S": "1#x"}}}}
    written = partitions_touched("BatchWriteItem", {"RequestItems": {"history": [put, put]}})
    read = partitions_touched("BatchGetItem", {"RequestItems": {"orders": {"Keys": [{"pk": {"S": "BILL#a#1"}}]}}})

    assert written == (("history", "a#bill#B1", "write"), ("history", "a#bill#B1", "write"))
    assert read == (("orders", "BILL#a#1", "read"),)
