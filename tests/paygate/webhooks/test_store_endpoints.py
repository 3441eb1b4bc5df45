"""Endpoint replicas: every change reaches the primary and all replicas or none; any replica reads it.

The store is built with a fixed replica (`pick_replica`) where a test needs to read from each one,
and a fixed clock where the replica check's period matters. Items "stored before replicas" are
written the way the previous version wrote them: the primary item alone.
"""

from __future__ import annotations

from typing import Any

import pytest

from paygate.errors import ServiceUnavailableError
from paygate.store.items import from_item, to_item, to_values
from paygate.webhooks.models import WebhookEndpoint
from paygate.webhooks.store import (
    HEADER_SK,
    REPLICA_CHECK_MS,
    REPLICAS,
    WebhooksStore,
    endpoint_sk,
    primary_pk,
    replica_pk,
)
from tests.paygate.webhooks.strict_dynamodb import StrictDynamoDB, check_request

TABLE = "webhooks"
APP = "app_replicas"
NOW = 1_800_000_000_000


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


def _store(db: StrictDynamoDB, replica: int | None = None, clock: Clock | None = None) -> WebhooksStore:
    return WebhooksStore(
        db,
        TABLE,
        clock=clock or Clock(),
        pick_replica=None if replica is None else (lambda: replica),
    )


def _endpoint(n: int, app_id: str = APP, **fields: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        app_id=app_id,
        endpoint_id=f"we_{n:024x}",
        url=f"https://shop.example.com/hooks/{n}",
        event_types=["bill.*"],
        created_at_ms=1_700_000_000_000 + n,
        **fields,
    )


def _put_legacy(db: StrictDynamoDB, endpoint: WebhookEndpoint, **extra: Any) -> None:
    """As the version before replicas stored an endpoint: the primary item only."""
    item = {"pk": primary_pk(endpoint.app_id), "sk": endpoint_sk(endpoint.endpoint_id), **endpoint.model_dump()}
    db.put_item(TableName=TABLE, Item=to_item(item | extra))


def _item(db: StrictDynamoDB, pk: str, sk: str) -> dict[str, Any] | None:
    item = db.get_item(TableName=TABLE, Key=to_values({"pk": pk, "sk": sk}), ConsistentRead=True).get("Item")
    if item is None:
        return None
    return {k: v for k, v in from_item(item).items() if k != "pk"}


def _copies(db: StrictDynamoDB, endpoint_id: str, app_id: str = APP) -> list[dict[str, Any] | None]:
    return [_item(db, replica_pk(app_id, k), endpoint_sk(endpoint_id)) for k in range(REPLICAS)]


def _primary(db: StrictDynamoDB, endpoint_id: str, app_id: str = APP) -> dict[str, Any] | None:
    return _item(db, primary_pk(app_id), endpoint_sk(endpoint_id))


def test_a_new_endpoint_is_in_the_primary_and_every_replica_and_any_replica_reads_it(webhooks_db):
    endpoint = _endpoint(1, description="orders")

    _store(webhooks_db).put_endpoint(endpoint)

    primary = _primary(webhooks_db, endpoint.endpoint_id)
    assert primary is not None
    assert primary["url"] == endpoint.url
    assert _copies(webhooks_db, endpoint.endpoint_id) == [primary] * REPLICAS
    for k in range(REPLICAS):
        reader = _store(webhooks_db, replica=k)
        assert reader.get_endpoint(APP, endpoint.endpoint_id) == endpoint
        assert reader.list_endpoints(APP) == [endpoint]


def test_a_create_that_fails_its_condition_changes_no_copy(webhooks_db):
    store = _store(webhooks_db)
    original = _endpoint(1)
    store.put_endpoint(original)

    with pytest.raises(RuntimeError, match="already exists"):
        store.put_endpoint(original.model_copy(update={"url": "https://attacker.example.com/"}))

    assert {c["url"] for c in _copies(webhooks_db, original.endpoint_id)} == {original.url}
    assert _primary(webhooks_db, original.endpoint_id)["url"] == original.url


def test_the_rotation_lease_and_its_release_reach_every_replica(webhooks_db):
    store = _store(webhooks_db)
    endpoint = _endpoint(1)
    store.put_endpoint(endpoint)

    assert store.take_rotation_lease(APP, endpoint.endpoint_id, now_ms=NOW, until_ms=NOW + 30_000)
    assert [c["rotating_until"] for c in _copies(webhooks_db, endpoint.endpoint_id)] == [NOW + 30_000] * REPLICAS

    store.release_rotation_lease(APP, endpoint.endpoint_id, rotated_at_ms=NOW + 5)

    copies = _copies(webhooks_db, endpoint.endpoint_id)
    assert copies == [_primary(webhooks_db, endpoint.endpoint_id)] * REPLICAS
    assert all("rotating_until" not in c and c["secret_rotated_at_ms"] == NOW + 5 for c in copies)
    for k in range(REPLICAS):
        assert _store(webhooks_db, replica=k).get_endpoint(APP, endpoint.endpoint_id).secret_rotated_at_ms == NOW + 5


def test_a_lease_held_elsewhere_is_refused_and_leaves_every_copy_as_it_was(webhooks_db):
    store = _store(webhooks_db)
    endpoint = _endpoint(1)
    store.put_endpoint(endpoint)
    assert store.take_rotation_lease(APP, endpoint.endpoint_id, now_ms=NOW, until_ms=NOW + 30_000)
    before = _copies(webhooks_db, endpoint.endpoint_id)

    assert not store.take_rotation_lease(APP, endpoint.endpoint_id, now_ms=NOW + 1, until_ms=NOW + 60_000)

    assert _copies(webhooks_db, endpoint.endpoint_id) == before
    assert _primary(webhooks_db, endpoint.endpoint_id)["rotating_until"] == NOW + 30_000
    # expired, it can be taken again, everywhere at once
    assert store.take_rotation_lease(APP, endpoint.endpoint_id, now_ms=NOW + 30_001, until_ms=NOW + 90_000)
    assert {c["rotating_until"] for c in _copies(webhooks_db, endpoint.endpoint_id)} == {NOW + 90_000}


def test_a_delete_removes_every_copy_and_no_replica_answers_it(webhooks_db):
    store = _store(webhooks_db)
    kept, gone = _endpoint(1), _endpoint(2)
    store.put_endpoint(kept)
    store.put_endpoint(gone)

    assert store.delete_endpoint(APP, gone.endpoint_id)

    assert _primary(webhooks_db, gone.endpoint_id) is None
    assert _copies(webhooks_db, gone.endpoint_id) == [None] * REPLICAS
    for k in range(REPLICAS):
        reader = _store(webhooks_db, replica=k)
        assert reader.get_endpoint(APP, gone.endpoint_id) is None
        assert reader.list_endpoints(APP) == [kept]
    assert not store.delete_endpoint(APP, gone.endpoint_id)


def test_changes_to_a_deleted_endpoint_write_nothing_anywhere(webhooks_db):
    store = _store(webhooks_db)
    endpoint = _endpoint(1)
    store.put_endpoint(endpoint)
    store.delete_endpoint(APP, endpoint.endpoint_id)

    assert not store.take_rotation_lease(APP, endpoint.endpoint_id, now_ms=NOW, until_ms=NOW + 30_000)
    store.release_rotation_lease(APP, endpoint.endpoint_id, rotated_at_ms=NOW)

    assert _primary(webhooks_db, endpoint.endpoint_id) is None
    assert _copies(webhooks_db, endpoint.endpoint_id) == [None] * REPLICAS  # no half-written stub


def test_endpoints_of_another_app_are_never_read(webhooks_db):
    store = _store(webhooks_db)
    store.put_endpoint(_endpoint(1, app_id="app_other"))
    _put_legacy(webhooks_db, _endpoint(2, app_id="app_other"))

    for k in range(REPLICAS):
        reader = _store(webhooks_db, replica=k)
        assert reader.list_endpoints(APP) == []
        assert reader.get_endpoint(APP, _endpoint(1).endpoint_id) is None
        assert reader.get_endpoint(APP, _endpoint(2).endpoint_id) is None


# ---------------------------------------------------------------- endpoints stored before replicas
def test_an_endpoint_stored_before_replicas_is_read_and_copied_to_every_replica(webhooks_db):
    legacy = _endpoint(1)
    _put_legacy(webhooks_db, legacy)

    assert _store(webhooks_db, replica=5).get_endpoint(APP, legacy.endpoint_id) == legacy

    assert _copies(webhooks_db, legacy.endpoint_id) == [_primary(webhooks_db, legacy.endpoint_id)] * REPLICAS
    webhooks_db.requests.clear()
    assert _store(webhooks_db, replica=9).get_endpoint(APP, legacy.endpoint_id) == legacy
    assert webhooks_db.reads() == [("GetItem", replica_pk(APP, 9))]


def test_the_first_list_of_an_app_from_before_replicas_answers_from_the_primary_and_fills_them(webhooks_db):
    old = _endpoint(1)
    rotating = _endpoint(2, secret_rotated_at_ms=NOW - 10)
    _put_legacy(webhooks_db, old)
    _put_legacy(webhooks_db, rotating, rotating_until=NOW + 20_000)

    assert _store(webhooks_db, replica=3).list_endpoints(APP) == [old, rotating]

    for endpoint in (old, rotating):
        assert _copies(webhooks_db, endpoint.endpoint_id) == [_primary(webhooks_db, endpoint.endpoint_id)] * REPLICAS
    headers = [_item(webhooks_db, replica_pk(APP, k), HEADER_SK) for k in range(REPLICAS)]
    assert all(h is not None and h["checked_at_ms"] == NOW for h in headers)
    for k in range(REPLICAS):
        webhooks_db.requests.clear()
        assert _store(webhooks_db, replica=k).list_endpoints(APP) == [old, rotating]
        assert webhooks_db.reads() == [("Query", replica_pk(APP, k))]  # one query, one replica
        assert not [op for op, _ in webhooks_db.requests if op != "Query"]


def test_an_app_without_endpoints_reads_one_replica_after_its_first_event(webhooks_db):
    assert _store(webhooks_db, replica=0).list_endpoints(APP) == []

    webhooks_db.requests.clear()
    assert _store(webhooks_db, replica=7).list_endpoints(APP) == []
    assert webhooks_db.reads() == [("Query", replica_pk(APP, 7))]
    assert len(webhooks_db.requests) == 1


def test_changes_to_an_endpoint_from_before_replicas_reach_every_replica(webhooks_db):
    store = _store(webhooks_db)
    legacy = _endpoint(1)
    _put_legacy(webhooks_db, legacy)

    assert store.take_rotation_lease(APP, legacy.endpoint_id, now_ms=NOW, until_ms=NOW + 30_000)
    assert {c["rotating_until"] for c in _copies(webhooks_db, legacy.endpoint_id)} == {NOW + 30_000}
    store.release_rotation_lease(APP, legacy.endpoint_id, rotated_at_ms=NOW + 1)
    assert _copies(webhooks_db, legacy.endpoint_id) == [_primary(webhooks_db, legacy.endpoint_id)] * REPLICAS

    other = _endpoint(2)
    _put_legacy(webhooks_db, other)
    assert store.delete_endpoint(APP, other.endpoint_id)
    assert _primary(webhooks_db, other.endpoint_id) is None
    assert _copies(webhooks_db, other.endpoint_id) == [None] * REPLICAS


# ---------------------------------------------------------------- older versions writing the primary alone
def _older_version_creates(db: StrictDynamoDB, endpoint: WebhookEndpoint) -> None:
    _put_legacy(db, endpoint)


def _older_version_deletes(db: StrictDynamoDB, endpoint: WebhookEndpoint) -> None:
    db.delete_item(TableName=TABLE, Key=to_values({"pk": primary_pk(APP), "sk": endpoint_sk(endpoint.endpoint_id)}))


def test_what_an_older_version_changes_in_the_primary_reaches_the_replicas_within_the_check_period(webhooks_db):
    clock = Clock()
    deleted, kept = _endpoint(1), _endpoint(2)
    _store(webhooks_db, clock=clock).put_endpoint(deleted)
    _store(webhooks_db, clock=clock).put_endpoint(kept)
    assert _store(webhooks_db, replica=0, clock=clock).list_endpoints(APP) == [deleted, kept]  # headers written
    created = _endpoint(3)
    _older_version_creates(webhooks_db, created)  # e.g. during a deploy, or after a rollback
    _older_version_deletes(webhooks_db, deleted)

    clock.now += REPLICA_CHECK_MS
    assert _store(webhooks_db, replica=4, clock=clock).list_endpoints(APP) == [kept, created]

    assert _copies(webhooks_db, deleted.endpoint_id) == [None] * REPLICAS
    assert _copies(webhooks_db, created.endpoint_id) == [_primary(webhooks_db, created.endpoint_id)] * REPLICAS
    for k in range(REPLICAS):
        assert _store(webhooks_db, replica=k, clock=clock).list_endpoints(APP) == [kept, created]


def _on_primary_query(db: StrictDynamoDB, monkeypatch: pytest.MonkeyPatch, action: Any) -> None:
    """Run `action` right after the store's next query of the primary partition returns."""
    query = db.query
    pending = [action]

    def hooked(**request: Any) -> Any:
        response = query(**request)
        if pending and request["ExpressionAttributeValues"][":pk"]["S"] == primary_pk(APP):
            pending.pop()()
        return response

    monkeypatch.setattr(db, "query", hooked)


def test_one_reader_of_all_containers_checks_the_replicas_per_period(webhooks_db, monkeypatch):
    clock = Clock()
    _store(webhooks_db, clock=clock).put_endpoint(_endpoint(1))
    _store(webhooks_db, replica=0, clock=clock).list_endpoints(APP)
    first, second = _store(webhooks_db, replica=2, clock=clock), _store(webhooks_db, replica=9, clock=clock)
    clock.now += REPLICA_CHECK_MS
    webhooks_db.requests.clear()
    # While the first container checks, the second reads a replica whose header is still due.
    _on_primary_query(webhooks_db, monkeypatch, lambda: second.list_endpoints(APP))

    assert first.list_endpoints(APP) == [_endpoint(1)]

    assert [r for r in webhooks_db.reads() if r[1] == primary_pk(APP)] == [("Query", primary_pk(APP))]
    assert ("Query", replica_pk(APP, 9)) in webhooks_db.reads()  # the second one did read, from its replica
    clock.now += REPLICA_CHECK_MS - 1
    webhooks_db.requests.clear()
    for container in (first, second, _store(webhooks_db, replica=11, clock=clock)):
        container.list_endpoints(APP)
    assert [r for r in webhooks_db.reads() if r[1] == primary_pk(APP)] == []


def test_deleting_an_endpoint_only_the_replicas_still_have_removes_it(webhooks_db):
    store = _store(webhooks_db, replica=6)
    endpoint = _endpoint(1)
    store.put_endpoint(endpoint)
    _older_version_deletes(webhooks_db, endpoint)
    assert store.get_endpoint(APP, endpoint.endpoint_id) == endpoint  # what readers see until the next check

    assert store.delete_endpoint(APP, endpoint.endpoint_id)

    assert _copies(webhooks_db, endpoint.endpoint_id) == [None] * REPLICAS
    assert not store.delete_endpoint(APP, endpoint.endpoint_id)


def test_a_copy_is_not_taken_from_a_primary_that_changed_after_it_was_read(webhooks_db, monkeypatch):
    legacy = _endpoint(1)
    _put_legacy(webhooks_db, legacy)

    def older_version_takes_a_lease() -> None:
        webhooks_db.update_item(
            TableName=TABLE,
            Key=to_values({"pk": primary_pk(APP), "sk": endpoint_sk(legacy.endpoint_id)}),
            UpdateExpression="SET rotating_until = :until",
            ExpressionAttributeValues=to_values({":until": NOW + 30_000}),
        )

    _on_primary_query(webhooks_db, monkeypatch, older_version_takes_a_lease)

    assert _store(webhooks_db, replica=1).list_endpoints(APP) == [legacy]

    assert _copies(webhooks_db, legacy.endpoint_id) == [None] * REPLICAS  # not the copy read before the lease
    assert _item(webhooks_db, replica_pk(APP, 1), HEADER_SK) is None  # so the next reader tries again
    assert _store(webhooks_db, replica=1).list_endpoints(APP) == [legacy]
    assert {c["rotating_until"] for c in _copies(webhooks_db, legacy.endpoint_id)} == {NOW + 30_000}


# ---------------------------------------------------------------- load
def test_reads_spread_over_every_replica(webhooks_db):
    store = _store(webhooks_db)
    endpoint = _endpoint(1)
    store.put_endpoint(endpoint)
    store.list_endpoints(APP)
    webhooks_db.requests.clear()

    for _ in range(160):
        assert store.get_endpoint(APP, endpoint.endpoint_id) == endpoint
        assert store.list_endpoints(APP) == [endpoint]

    counts: dict[str, int] = {}
    for _, partition in webhooks_db.reads():
        counts[partition] = counts.get(partition, 0) + 1
    assert set(counts) == {replica_pk(APP, k) for k in range(REPLICAS)}
    assert max(counts.values()) <= 2.5 * 320 / REPLICAS  # no replica takes much more than its share


def test_a_change_that_keeps_conflicting_is_a_503_and_writes_nothing(webhooks_db, monkeypatch):
    from botocore.exceptions import ClientError

    store = _store(webhooks_db)
    endpoint = _endpoint(1)

    def conflicting(**request: Any) -> Any:
        reasons = [{"Code": "TransactionConflict"}] + [{"Code": "None"}] * (len(request["TransactItems"]) - 1)
        error = {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": reasons}
        raise ClientError(error, "TransactWriteItems")

    monkeypatch.setattr(webhooks_db, "transact_write_items", conflicting)
    monkeypatch.setattr("paygate.webhooks.store.time.sleep", lambda _s: None)

    with pytest.raises(ServiceUnavailableError):
        store.put_endpoint(endpoint)

    assert _primary(webhooks_db, endpoint.endpoint_id) is None


def test_the_strict_client_refuses_what_dynamodb_refuses():
    with pytest.raises(AssertionError, match="unused"):
        check_request(
            {
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeValues": {":m1": {"N": "1"}, ":m10": {"N": "1"}},
                "UpdateExpression": "SET a = :m10",
            }
        )
    with pytest.raises(AssertionError, match="empty"):
        check_request({"UpdateExpression": "REMOVE a", "ExpressionAttributeValues": {}})
