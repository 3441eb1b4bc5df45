"""The secrets snapshot (`make run` keeps Secrets Manager in a file): it survives secrets deleted
under it and failed rounds, so a secret created afterwards is still saved."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from paygate_local.moto_server import MotoServer, SecretsSnapshot
from tests.paygate_local.helpers import eventually


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = MotoServer(port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def snapshot(moto: MotoServer, tmp_path: Path) -> Iterator[SecretsSnapshot]:
    snap = SecretsSnapshot(moto, tmp_path / "moto-secrets.json")
    yield snap
    snap.stop()
    sm = moto.client("secretsmanager")
    for page in sm.get_paginator("list_secrets").paginate():
        for entry in page["SecretList"]:
            sm.delete_secret(SecretId=entry["ARN"], ForceDeleteWithoutRecovery=True)


def _saved(snap: SecretsSnapshot) -> dict[str, str]:
    if not snap.path.exists():
        return {}
    return {s["Name"]: s["SecretString"] for s in json.loads(snap.path.read_text())["secrets"]}


def _create(moto: MotoServer, name: str) -> None:
    moto.client("secretsmanager").create_secret(Name=name, SecretString=f"value-of-{name}")


def _before_get_secret_value(moto: MotoServer, monkeypatch: pytest.MonkeyPatch, action: Callable[[str], None]) -> None:
    """Run `action(secret id)` just before each GetSecretValue of clients made from now on."""
    make_client = moto.client

    def client(service: str) -> Any:
        made = make_client(service)
        if service == "secretsmanager":
            made.meta.events.register(
                "before-parameter-build.secrets-manager.GetSecretValue",
                lambda params, **_: action(params["SecretId"]),
            )
        return made

    monkeypatch.setattr(moto, "client", client)


def test_a_secret_deleted_between_list_and_get_is_skipped(
    moto: MotoServer, snapshot: SecretsSnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"paygate/test/{uuid.uuid4().hex}" for _ in range(3)]
    for name in names:
        _create(moto, name)
    doomed = names[1]
    sm = moto.client("secretsmanager")

    def delete_doomed(secret_id: str) -> None:
        if doomed in secret_id and sm.list_secrets(Filters=[{"Key": "name", "Values": [doomed]}])["SecretList"]:
            sm.delete_secret(SecretId=doomed, ForceDeleteWithoutRecovery=True)

    _before_get_secret_value(moto, monkeypatch, delete_doomed)

    snapshot.save()

    assert _saved(snapshot) == {name: f"value-of-{name}" for name in names if name != doomed}


def test_after_a_failed_round_the_thread_keeps_saving(
    moto: MotoServer, snapshot: SecretsSnapshot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="paygate_local")
    failures = {"left": 1}

    def fail_once(_secret_id: str) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise RuntimeError("moto hiccup")

    _before_get_secret_value(moto, monkeypatch, fail_once)
    snapshot.start()
    first = f"paygate/test/{uuid.uuid4().hex}"

    _create(moto, first)  # its round fails once

    eventually(lambda: first in _saved(snapshot))
    assert [r for r in caplog.records if r.getMessage().startswith("secrets snapshot failed")]
    later = f"paygate/test/{uuid.uuid4().hex}"
    _create(moto, later)
    eventually(lambda: later in _saved(snapshot))


def test_deleting_several_webhook_secrets_quickly_loses_no_later_secret(
    moto: MotoServer, snapshot: SecretsSnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot.start()
    endpoints = [f"paygate/test/webhooks/we_{uuid.uuid4().hex}" for _ in range(8)]
    for name in endpoints:
        _create(moto, name)
    eventually(lambda: set(endpoints) <= set(_saved(snapshot)))
    sm = moto.client("secretsmanager")
    deleted: list[str] = []

    def delete_the_rest(_secret_id: str) -> None:
        """The other deletes land while the round triggered by the first one reads the values."""
        for name in endpoints[1:]:
            if name not in deleted:
                deleted.append(name)
                sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)

    _before_get_secret_value(moto, monkeypatch, delete_the_rest)

    sm.delete_secret(SecretId=endpoints[0], ForceDeleteWithoutRecovery=True)
    eventually(lambda: len(deleted) == len(endpoints) - 1)
    created_after = f"paygate/test/apps/{uuid.uuid4().hex}"
    _create(moto, created_after)

    eventually(lambda: set(_saved(snapshot)) == {created_after})
