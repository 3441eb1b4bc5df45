"""Lists read a keys-only index and fetch the orders themselves: pages, filters and throttled batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from paygate.errors import ServiceUnavailableError
from paygate.models import OrderKind
from paygate.store.items import to_item
from paygate.store.orders import GSI_COPY_NAME, INDEX_SHARDS, LIST_INDEXES, OrdersStore, index_keys, order_pk
from tests.support.template import table_definitions

APP = "app_list"
TABLE = "orders"


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        db.create_table(TableName=TABLE, **table_definitions()["OrdersTable"])
        yield db


def _put(db: Any, n: int, *, status: str, app_id: str = APP, kind: OrderKind = OrderKind.BILL) -> str:
    order_no = f"ORDER{n:04d}"
    item = {
        "pk": order_pk(kind, app_id, order_no),
        **index_keys(kind, app_id, 1_700_000_000_000 + n, order_no),
        "order_no": order_no,
        "status": status,
        "total_fee": n,
    }
    db.put_item(TableName=TABLE, Item=to_item(item))
    return order_no


def _walk(store: OrdersStore, limit: int, **kwargs: Any) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = store.list_orders(APP, OrderKind.BILL, limit=limit, cursor=cursor, **kwargs)
        pages.append([item["order_no"] for item in page.items])
        cursor = page.cursor
        if cursor is None:
            return pages


def test_the_index_holds_keys_only_so_status_changes_never_rewrite_it(client: Any) -> None:
    index = table_definitions()["OrdersTable"]["GlobalSecondaryIndexes"][0]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_pages_return_whole_orders_newest_first(client: Any) -> None:
    for n in range(7):
        _put(client, n, status="paid")
    store = OrdersStore(client, TABLE)
    pages = _walk(store, 3)
    assert pages == [["ORDER0006", "ORDER0005", "ORDER0004"], ["ORDER0003", "ORDER0002", "ORDER0001"], ["ORDER0000"]]
    first = store.list_orders(APP, OrderKind.BILL, limit=1).items[0]
    assert first["status"] == "paid"
    assert first["total_fee"] == 6


def test_a_sparse_filter_pages_through_many_chunks_without_misses_or_repeats(client: Any) -> None:
    matching = [_put(client, n, status="paid" if n % 9 == 0 else "pending") for n in range(80)]
    expected = [no for no in reversed(matching) if int(no[5:]) % 9 == 0]
    pages = _walk(OrdersStore(client, TABLE), 2, filters={"status": "paid"})
    assert [no for page in pages for no in page] == expected
    assert all(len(page) == 2 for page in pages[:-1])


def test_a_page_that_fills_inside_a_chunk_resumes_right_after_its_last_order(client: Any) -> None:
    for n in range(60):
        _put(client, n, status="paid" if n % 2 else "pending")
    store = OrdersStore(client, TABLE)
    first = store.list_orders(APP, OrderKind.BILL, limit=3, filters={"status": "paid"})
    assert [i["order_no"] for i in first.items] == ["ORDER0059", "ORDER0057", "ORDER0055"]
    second = store.list_orders(APP, OrderKind.BILL, limit=3, cursor=first.cursor, filters={"status": "paid"})
    assert [i["order_no"] for i in second.items] == ["ORDER0053", "ORDER0051", "ORDER0049"]


def test_the_last_page_has_no_cursor(client: Any) -> None:
    for n in range(4):
        _put(client, n, status="paid")
    page = OrdersStore(client, TABLE).list_orders(APP, OrderKind.BILL, limit=10)
    assert len(page.items) == 4
    assert page.cursor is None


def test_another_apps_and_kinds_orders_never_appear(client: Any) -> None:
    _put(client, 1, status="paid")
    _put(client, 2, status="paid", app_id="app_other")
    _put(client, 3, status="paid", kind=OrderKind.PAYOUT)
    assert _walk(OrdersStore(client, TABLE), 10) == [["ORDER0001"]]


class _Throttling:
    """Leaves every key but the first of each batch unprocessed, `times` times, as a throttled table does."""

    def __init__(self, client: Any, times: int) -> None:
        self._client = client
        self.times = times
        self.batches: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        keys = RequestItems[TABLE]["Keys"]
        self.batches.append(len(keys))
        if self.times <= 0:
            return self._client.batch_get_item(RequestItems=RequestItems)  # type: ignore[no-any-return]
        self.times -= 1
        answered = self._client.batch_get_item(RequestItems={TABLE: {"Keys": keys[:1]}})
        answered["UnprocessedKeys"] = {TABLE: {"Keys": keys[1:]}} if keys[1:] else {}
        return answered  # type: ignore[no-any-return]


def test_unprocessed_keys_are_asked_for_again(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("paygate.store.orders.time.sleep", lambda _s: None)
    for n in range(5):
        _put(client, n, status="paid")
    throttled = _Throttling(client, times=2)
    page = OrdersStore(throttled, TABLE).list_orders(APP, OrderKind.BILL, limit=5)
    assert [i["order_no"] for i in page.items] == ["ORDER0004", "ORDER0003", "ORDER0002", "ORDER0001", "ORDER0000"]
    assert throttled.batches == [5, 4, 3]


def test_a_table_that_keeps_throttling_is_unavailable_not_a_short_page(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("paygate.store.orders.time.sleep", lambda _s: None)
    for n in range(10):
        _put(client, n, status="paid")
    with pytest.raises(ServiceUnavailableError) as raised:
        OrdersStore(_Throttling(client, times=99), TABLE).list_orders(APP, OrderKind.BILL, limit=10)
    assert raised.value.status == 503


def test_one_merchants_orders_spread_over_every_index_shard(client: Any) -> None:
    """One index partition takes 1,000 writes a second: a busy merchant's creates must not share one."""
    partitions = {index_keys(OrderKind.BILL, APP, 0, f"BILL{n:08d}")["gsi1pk"] for n in range(2_000)}

    assert partitions == {f"{APP}#bill#{shard}" for shard in range(INDEX_SHARDS)}
    assert index_keys(OrderKind.BILL, APP, 1, "BILL00000007") == index_keys(OrderKind.BILL, APP, 1, "BILL00000007")


def test_pages_merge_the_shards_newest_first_without_misses_or_repeats(client: Any) -> None:
    put = [_put(client, n, status="paid" if n % 3 else "pending") for n in range(150)]
    store = OrdersStore(client, TABLE)

    pages = _walk(store, 7)
    paid = _walk(store, 4, filters={"status": "paid"})

    assert [no for page in pages for no in page] == list(reversed(put))
    assert [no for page in paid for no in page] == [no for no in reversed(put) if int(no[5:]) % 3]


def test_orders_indexed_before_sharding_are_listed_with_the_others(client: Any) -> None:
    """Items written by an earlier release carry the unsharded gsi1pk (app#kind); lists still find them."""
    older = []
    for n in range(5):
        order_no = f"OLD{n:04d}"
        keys = {"gsi1pk": f"{APP}#bill", "gsi1sk": f"{1_600_000_000_000 + n:013d}#{order_no}"}
        item = {"pk": order_pk(OrderKind.BILL, APP, order_no), **keys, "order_no": order_no, "status": "paid"}
        client.put_item(TableName=TABLE, Item=to_item(item))
        older.append(order_no)
    newer = [_put(client, n, status="paid") for n in range(5)]

    pages = _walk(OrdersStore(client, TABLE), 3)

    assert [no for page in pages for no in page] == list(reversed(newer)) + list(reversed(older))


class _DynamoDBRules:
    """moto's client with a rule real DynamoDB enforces and moto does not: every value is used."""

    def __init__(self, db: Any) -> None:
        self._db = db
        self.queries = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def query(self, **request: Any) -> Any:
        self.queries += 1
        expressions = " ".join(str(request.get(k, "")) for k in ("KeyConditionExpression", "FilterExpression"))
        unused = [name for name in request.get("ExpressionAttributeValues", {}) if name not in expressions]
        assert not unused, f"DynamoDB refuses unused expression values: {unused}"
        return self._db.query(**request)


def test_every_page_query_is_one_dynamodb_accepts(client: Any) -> None:
    for n in range(9):
        _put(client, n, status="paid")
    strict = _DynamoDBRules(client)

    pages = _walk(OrdersStore(strict, TABLE), 2, created_from_ms=1_700_000_000_001)

    assert [no for page in pages for no in page] == [f"ORDER{n:04d}" for n in range(8, 0, -1)]
    assert strict.queries > 17  # every page asked every shard


class _IndexSpy:
    """moto's client, remembering which index each query read; `unreadable` answers as a backfilling index."""

    def __init__(self, db: Any, unreadable: str | None = None) -> None:
        self._db = db
        self.unreadable = unreadable
        self.indexes: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def query(self, **request: Any) -> Any:
        self.indexes.append(request["IndexName"])
        if request["IndexName"] == self.unreadable:
            backfilling = "Cannot read from backfilling global secondary index"
            raise ClientError({"Error": {"Code": "ValidationException", "Message": backfilling}}, "Query")
        return self._db.query(**request)


def test_the_index_copy_has_the_same_keys_so_dynamodb_fills_it_from_the_same_writes() -> None:
    first, copy = table_definitions()["OrdersTable"]["GlobalSecondaryIndexes"]
    assert (first["IndexName"], copy["IndexName"]) == LIST_INDEXES
    assert copy["KeySchema"] == first["KeySchema"]
    assert copy["Projection"] == first["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_pages_alternate_between_the_two_indexes_and_see_the_same_orders(client: Any) -> None:
    """Each index partition serves half of a merchant's pages: 2 x 6,000 list pages a second."""
    for n in range(5):
        _put(client, n, status="paid")
    spy = _IndexSpy(client)
    store = OrdersStore(spy, TABLE)

    pages, used = [], []
    for _ in range(4):
        spy.indexes.clear()
        pages.append([item["order_no"] for item in store.list_orders(APP, OrderKind.BILL, limit=10).items])
        assert len(spy.indexes) == INDEX_SHARDS + 1  # every shard, and the unsharded partition
        assert len(set(spy.indexes)) == 1  # of one index
        used.append(spy.indexes[0])
    assert used == [*LIST_INDEXES, *LIST_INDEXES]
    assert pages == [["ORDER0004", "ORDER0003", "ORDER0002", "ORDER0001", "ORDER0000"]] * 4


def test_a_copy_still_backfilling_is_not_read_until_later(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stack updated to add the copy: DynamoDB refuses reads of it while it fills; lists stay whole."""
    for n in range(3):
        _put(client, n, status="paid")
    spy = _IndexSpy(client, unreadable=GSI_COPY_NAME)
    store = OrdersStore(spy, TABLE)
    now = [1_000.0]
    monkeypatch.setattr("paygate.store.orders.time.monotonic", lambda: now[0])

    pages = [[i["order_no"] for i in store.list_orders(APP, OrderKind.BILL, limit=10).items] for _ in range(4)]
    assert pages == [["ORDER0002", "ORDER0001", "ORDER0000"]] * 4
    asked_copy = spy.indexes.count(GSI_COPY_NAME)
    assert 1 <= asked_copy <= INDEX_SHARDS + 1  # only the page that found it unreadable

    spy.unreadable = None
    now[0] += 301  # the copy is tried again after five minutes
    spy.indexes.clear()
    store.list_orders(APP, OrderKind.BILL, limit=10)
    store.list_orders(APP, OrderKind.BILL, limit=10)
    assert set(spy.indexes) == set(LIST_INDEXES)


def test_other_errors_of_the_copy_are_not_hidden(client: Any) -> None:
    spy = _IndexSpy(client)
    store = OrdersStore(spy, TABLE)
    store.list_orders(APP, OrderKind.BILL, limit=10)  # the first index

    def refuse(**request: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Query")

    spy.query = refuse  # type: ignore[method-assign]
    with pytest.raises(ClientError):
        store.list_orders(APP, OrderKind.BILL, limit=10)
