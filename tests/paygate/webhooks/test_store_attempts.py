"""The delivery log: attempts spread over shards by a stable hash; pages merge them newest first."""

from __future__ import annotations

from typing import Any

import pytest

from paygate.store.cursors import InvalidCursorError, encode_cursor
from paygate.store.items import to_item
from paygate.webhooks.models import AttemptStatus, DeliveryAttempt
from paygate.webhooks.store import ATTEMPT_SHARDS, WebhooksStore, attempt_shard, attempts_pk

TABLE = "webhooks"
ENDPOINT = "we_" + "a" * 24
OTHER = "we_" + "b" * 24


def _attempt(n: int, *, endpoint_id: str = ENDPOINT, at_ms: int | None = None) -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery_id=f"dlv_{n:032x}",
        app_id="app_log",
        endpoint_id=endpoint_id,
        event_id=f"evt_{n}",
        event_type="bill.succeeded",
        attempt=1 + n % 3,
        status=AttemptStatus.FAILED,
        response_status=500,
        latency_ms=n,
        error="http_500",
        attempted_at_ms=at_ms if at_ms is not None else 1_800_000_000_000 + n,
    )


def _put_unsharded(db: Any, attempt: DeliveryAttempt) -> None:
    """As the version before sharding logged an attempt."""
    item = {
        "pk": attempts_pk(attempt.endpoint_id),
        "sk": f"DLV#{attempt.attempted_at_ms:013d}#{attempt.delivery_id}",
        **attempt.model_dump(mode="json"),
        "expires_at": 1_900_000_000,
    }
    db.put_item(TableName=TABLE, Item=to_item(item))


def _walk(store: WebhooksStore, limit: int, endpoint_id: str = ENDPOINT) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = store.list_attempts(endpoint_id, limit=limit, cursor=cursor)
        pages.append([a.delivery_id for a in page.attempts])
        cursor = page.cursor
        if cursor is None:
            return pages


def _newest_first(attempts: list[DeliveryAttempt]) -> list[str]:
    ordered = sorted(attempts, key=lambda a: (a.attempted_at_ms, a.delivery_id), reverse=True)
    return [a.delivery_id for a in ordered]


def test_the_shard_is_a_stable_hash_of_the_delivery_id():
    # Pinned (computed in another process, under another hash seed): a salted or changed hash
    # would file new attempts elsewhere and refuse the cursors already issued.
    assert [attempt_shard(d) for d in ("dlv_0", "dlv_1", "dlv_" + "f" * 32)] == [10, 12, 13]


def test_each_attempt_is_written_to_its_shard_and_the_shards_share_the_load(webhooks_db):
    store = WebhooksStore(webhooks_db, TABLE)
    attempts = [_attempt(n) for n in range(160)]

    for attempt in attempts:
        store.put_attempt(attempt, expires_at=1_900_000_000)

    written = [request["Item"]["pk"]["S"] for op, request in webhooks_db.requests if op == "PutItem"]
    assert written == [attempts_pk(ENDPOINT, attempt_shard(a.delivery_id)) for a in attempts]
    counts = {pk: written.count(pk) for pk in set(written)}
    assert len(counts) == ATTEMPT_SHARDS
    assert max(counts.values()) <= 2.5 * len(attempts) / ATTEMPT_SHARDS


@pytest.mark.parametrize("limit", [1, 3, 7, 50])
def test_pages_merge_every_shard_and_the_unsharded_log_newest_first(webhooks_db, limit):
    store = WebhooksStore(webhooks_db, TABLE)
    sharded = [_attempt(n) for n in range(30)] + [_attempt(100 + n, at_ms=1_800_000_000_010) for n in range(6)]
    older = [_attempt(200 + n, at_ms=1_800_000_000_000 + 3 * n) for n in range(8)]  # interleaved in time
    for attempt in sharded:
        store.put_attempt(attempt, expires_at=1_900_000_000)
    for attempt in older:
        _put_unsharded(webhooks_db, attempt)
    _put_unsharded(webhooks_db, _attempt(300, endpoint_id=OTHER))
    store.put_attempt(_attempt(301, endpoint_id=OTHER), expires_at=1_900_000_000)

    pages = _walk(store, limit)

    listed = [d for page in pages for d in page]
    assert listed == _newest_first(sharded + older)  # no duplicate, no gap, no other endpoint's
    assert all(len(page) == limit for page in pages[:-1])
    assert 1 <= len(pages[-1]) <= limit


def test_a_log_that_fits_one_page_has_no_cursor(webhooks_db):
    store = WebhooksStore(webhooks_db, TABLE)
    for n in range(4):
        store.put_attempt(_attempt(n), expires_at=1_900_000_000)

    page = store.list_attempts(ENDPOINT, limit=5)

    assert [a.delivery_id for a in page.attempts] == _newest_first([_attempt(n) for n in range(4)])
    assert page.cursor is None
    assert store.list_attempts(OTHER, limit=5).attempts == []


def test_every_page_query_is_one_dynamodb_accepts(webhooks_db):
    store = WebhooksStore(webhooks_db, TABLE)
    for n in range(9):
        store.put_attempt(_attempt(n), expires_at=1_900_000_000)
    webhooks_db.requests.clear()

    pages = _walk(store, 4)

    assert len(pages) == 3
    queried = [pk for op, pk in webhooks_db.reads() if op == "Query"]
    partitions = [attempts_pk(ENDPOINT, s) for s in range(ATTEMPT_SHARDS)] + [attempts_pk(ENDPOINT)]
    assert sorted(queried) == sorted(partitions * 3)  # each page: every shard and the unsharded log, once


def _cursor_after(store: WebhooksStore, endpoint_id: str) -> str:
    page = store.list_attempts(endpoint_id, limit=1)
    assert page.cursor
    return page.cursor


def test_a_cursor_is_refused_on_any_other_endpoint(webhooks_db):
    store = WebhooksStore(webhooks_db, TABLE)
    for n in range(3):
        store.put_attempt(_attempt(n), expires_at=1_900_000_000)
        store.put_attempt(_attempt(10 + n, endpoint_id=OTHER), expires_at=1_900_000_000)
    foreign = _cursor_after(store, OTHER)

    with pytest.raises(InvalidCursorError):
        store.list_attempts(ENDPOINT, limit=2, cursor=foreign)
    assert store.list_attempts(OTHER, limit=5, cursor=foreign).attempts  # where it belongs, it pages


def _forged(pk: str, delivery_id: str, at_ms: int = 1_800_000_000_001) -> str:
    return encode_cursor({"pk": pk, "sk": f"DLV#{at_ms:013d}#{delivery_id}"})


@pytest.mark.parametrize(
    "cursor",
    [
        _forged(f"WHEP#{ENDPOINT}#{(attempt_shard('dlv_7') + 1) % ATTEMPT_SHARDS}", "dlv_7"),  # not its shard
        _forged(f"WHEP#{ENDPOINT}#{ATTEMPT_SHARDS}", "dlv_7"),
        _forged(f"WHEP#{ENDPOINT}#0{attempt_shard('dlv_7')}", "dlv_7"),
        _forged(f"WHEP#{ENDPOINT}#-1", "dlv_7"),
        _forged(f"WHEP#{OTHER}", "dlv_7"),
        _forged(f"WHEP#{ENDPOINT}X", "dlv_7"),
        encode_cursor({"pk": f"WHEP#{ENDPOINT}", "sk": "DLV#1"}),
        encode_cursor({"pk": f"WHEP#{ENDPOINT}", "sk": "DLV#1800000000001#dlv_7", "extra": "x"}),
        "not-a-cursor",
    ],
)
def test_forged_cursors_are_refused(webhooks_db, cursor):
    with pytest.raises(InvalidCursorError):
        WebhooksStore(webhooks_db, TABLE).list_attempts(ENDPOINT, limit=2, cursor=cursor)


def test_a_cursor_issued_before_sharding_still_pages(webhooks_db):
    store = WebhooksStore(webhooks_db, TABLE)
    older = [_attempt(n) for n in range(0, 10, 2)]
    newer = [_attempt(n) for n in range(1, 10, 2)]
    for attempt in older:
        _put_unsharded(webhooks_db, attempt)
    for attempt in newer:
        store.put_attempt(attempt, expires_at=1_900_000_000)
    at = _attempt(6)
    cursor = _forged(attempts_pk(ENDPOINT), at.delivery_id, at.attempted_at_ms)  # the previous version's shape

    page = store.list_attempts(ENDPOINT, limit=50, cursor=cursor)

    assert [a.delivery_id for a in page.attempts] == _newest_first([_attempt(n) for n in range(6)])
    assert page.cursor is None


def test_a_page_filled_by_one_shard_still_leads_to_the_rest_of_it(webhooks_db):
    store = WebhooksStore(webhooks_db, TABLE)
    same_shard = [a for a in (_attempt(n) for n in range(200)) if attempt_shard(a.delivery_id) == 3][:5]
    for attempt in same_shard:
        store.put_attempt(attempt, expires_at=1_900_000_000)

    pages = _walk(store, 2)

    assert pages == [_newest_first(same_shard)[0:2], _newest_first(same_shard)[2:4], _newest_first(same_shard)[4:]]
