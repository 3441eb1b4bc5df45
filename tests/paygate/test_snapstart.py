"""SnapStart hooks, with a fork standing in for a snapshot restored twice.

A fork copies the parent's memory as Lambda copies a snapshot: what the parent built before it
(clients, connections, seeded generators) is in both children. After `after_restore`, each copy
must make its own random numbers, keys and ids, and hold no client or connection of the parent.
The "snapshot" is taken in a fresh single-threaded interpreter (forking the test process, whose
other threads may hold locks, could deadlock a child).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

SNAPSHOT_AND_RESTORE_TWICE = r"""
import json, os, random, sys, uuid
from paygate import aws, deps, snapstart
from paygate.apps.keys import new_api_key, new_app_id

def held():
    return {"session": aws._session(), "dynamodb": aws.client("dynamodb"), "http": deps.http_client(),
            "apps": deps.app_cache()}

snapstart.before_snapshot()
built = aws.client.cache_info().currsize
random.seed(42)  # the worst case: a generator seeded before the snapshot
generator = random.getstate()
snapshot = held()  # kept alive, so a new object can never take an old one's address
copies = []
for _ in range(2):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        random.setstate(generator)  # a fork re-seeds `random` in the child; a restore does not
        snapstart.after_restore()
        report = {
            "random": [random.random() for _ in range(4)],
            "keys": [new_api_key("app_0123456789abcdef") for _ in range(4)],
            "app_ids": [new_app_id() for _ in range(4)],
            "uuids": [str(uuid.uuid4()) for _ in range(4)],
            "same_objects": [name for name, was in snapshot.items() if held()[name] is was],
        }
        os.write(write, json.dumps(report).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        copies.append(json.loads(pipe.read()))
    os.waitpid(pid, 0)
print(json.dumps({"clients_built": built, "copies": copies}))
"""


def _run() -> dict[str, Any]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "paygate"), str(ROOT)]),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "ORDERS_TABLE": "orders",
        "APPS_TABLE": "apps",
    }
    done = subprocess.run(
        [sys.executable, "-c", SNAPSHOT_AND_RESTORE_TWICE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_before_the_snapshot_the_clients_a_request_needs_are_built():
    from paygate import snapstart

    assert _run()["clients_built"] == len(snapstart._CLIENTS)


def test_two_restored_copies_share_no_random_state_key_id_client_or_connection():
    first, second = _run()["copies"]

    for name in ("random", "keys", "app_ids", "uuids"):
        assert not set(first[name]) & set(second[name]), name
    assert first["same_objects"] == second["same_objects"] == []
