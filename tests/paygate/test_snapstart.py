"""SnapStart hooks, with a fork standing in for a snapshot restored twice.

A fork copies the parent's memory as Lambda copies a snapshot: what the parent built before it
(clients, connections, seeded generators) is in both children. After `after_restore`, each copy
must make its own random numbers, keys and ids, and hold no client or connection of the parent.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from typing import Any

import pytest

from paygate import aws, deps, snapstart
from paygate.apps.keys import new_api_key, new_app_id


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "ORDERS_TABLE": "orders",
        "APPS_TABLE": "apps",
    }.items():
        monkeypatch.setenv(name, value)
    deps.clear_caches()
    aws.clear_caches()


def _restored_copy(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Fork, restore in the child, and bring back what it generated and which objects it holds."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the restored copy
        os.close(read)
        try:
            snapstart.after_restore()
            report = {
                "random": [random.random() for _ in range(4)],
                "keys": [new_api_key("app_0123456789abcdef") for _ in range(4)],
                "app_ids": [new_app_id() for _ in range(4)],
                "uuids": [str(uuid.uuid4()) for _ in range(4)],
                "same_objects": [name for name, was in snapshot.items() if _held()[name] is was],
            }
            os.write(write, json.dumps(report).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return dict(json.loads(data))


def _held() -> dict[str, Any]:
    return {
        "session": aws._session(),
        "dynamodb": aws.client("dynamodb"),
        "http": deps.http_client(),
        "apps": deps.app_cache(),
    }


def test_before_the_snapshot_the_clients_a_request_needs_are_built(environment):
    aws.clear_caches()

    snapstart.before_snapshot()

    assert aws.client.cache_info().currsize == len(snapstart._CLIENTS)  # type: ignore[attr-defined]


def test_two_restored_copies_share_no_random_state_key_id_client_or_connection(environment):
    snapstart.before_snapshot()
    random.seed(42)  # the worst case: a generator seeded before the snapshot
    snapshot = _held()  # kept alive, so a new object can never take an old one's address

    first, second = _restored_copy(snapshot), _restored_copy(snapshot)

    for name in ("random", "keys", "app_ids", "uuids"):
        assert not set(first[name]) & set(second[name]), name
    assert first["same_objects"] == second["same_objects"] == []
