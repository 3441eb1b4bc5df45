"""moto in its own process on 127.0.0.1, with the one seam moto lacks: Lambda Invoke to real handlers.

moto's Step Functions interpreter calls `http://localhost:$MOTO_PORT/2015-03-31/functions/
{url-encoded ARN}/invocations`; without Docker moto's own Lambda only echoes. moto runs in a child
process (`_moto_main.py`: its state is module-global, and a `mock_aws` test in the runner's process
would otherwise reset it) whose middleware forwards that path to the runner's invoke server, where
`LambdaSeam` runs the function's workers. Every other request is moto's.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3
import httpx
from botocore.exceptions import ClientError
from werkzeug.serving import BaseWSGIServer, make_server

from paygate_local.files import write_private
from paygate_local.requestlog import PathOnlyRequestHandler
from paygate_local.template import REGION
from paygate_local.workers import FunctionPool

log = logging.getLogger(__name__)

MOTO_MAIN = Path(__file__).with_name("_moto_main.py")
READY_TIMEOUT_S = 30.0
_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<fn>[^/]+)/invocations/?$")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
FunctionLookup = Callable[[str], FunctionPool | None]


class MotoError(RuntimeError):
    """moto's process did not come up."""


def dummy_credentials() -> dict[str, str]:
    """moto accepts any credentials; these keep boto3 from looking for real ones."""
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": REGION}


class LambdaSeam:
    """WSGI app on the runner's invoke server: Lambda Invoke to the function's workers."""

    def __init__(self) -> None:
        self.lookup: FunctionLookup = lambda _name: None
        self.on_write: Callable[[], None] = lambda: None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") == "POST" and path == "/_local/moto-write":
            self.on_write()
            start_response("204 No Content", [])
            return [b""]
        match = _INVOKE.match(path)
        if match and environ.get("REQUEST_METHOD") == "POST":
            return self._invoke(unquote(match["fn"]), environ, start_response)
        return _respond(start_response, "404 Not Found", {"message": "not found"}, "-", "UnknownOperationException")

    def _invoke(self, name: str, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        pool = self.lookup(name)
        if pool is None:
            error = {"Type": "User", "message": f"Function not found: {name}"}
            return _respond(start_response, "404 Not Found", error, request_id, "ResourceNotFoundException")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            event = json.loads(raw) if raw.strip() else {}
        except ValueError:
            error = {"Type": "User", "message": "Could not parse request body into json"}
            return _respond(start_response, "400 Bad Request", error, request_id, "InvalidRequestContentException")
        invocation_type = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
        if invocation_type == "DryRun":
            start_response("204 No Content", [("x-amzn-RequestId", request_id)])
            return [b""]
        if invocation_type == "Event":
            pool.submit(event, _qualified(name, pool))
            start_response("202 Accepted", [("x-amzn-RequestId", request_id), ("Content-Length", "0")])
            return [b""]
        result = pool.invoke(event, _qualified(name, pool))
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(result.payload))),
            ("X-Amz-Executed-Version", "$LATEST"),
            ("x-amzn-RequestId", request_id),
        ]
        if result.function_error:
            headers.append(("X-Amz-Function-Error", result.function_error))
        start_response("200 OK", headers)
        return [result.payload]


def _qualified(name: str, pool: FunctionPool) -> str:
    return name if name.startswith("arn:") else pool.spec.arn


def _respond(
    start_response: Callable[..., Any], status: str, body: dict[str, Any], request_id: str, error_type: str
) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", error_type),
        ],
    )
    return [data]


class _QuietHandler(PathOnlyRequestHandler):
    request_logger = log
    request_level = logging.DEBUG


class MotoServer:
    """moto in a child process plus the runner's invoke server that its seam forwards to."""

    def __init__(self, port: int = 0) -> None:
        self.seam = LambdaSeam()
        self._invoke_server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self.seam, threaded=True, request_handler=_QuietHandler
        )
        self.invoke_url = f"http://127.0.0.1:{self._invoke_server.server_port}"
        self._thread = threading.Thread(
            target=self._invoke_server.serve_forever, kwargs={"poll_interval": 0.05}, name="invoke", daemon=True
        )
        self._requested_port = port
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.url = ""

    def spawn(self) -> None:
        """Start moto's process (it imports for a second; `wait_ready` joins it later)."""
        self._thread.start()
        self.proc = subprocess.Popen(  # noqa: S603 - our interpreter, our script
            [sys.executable, "-P", str(MOTO_MAIN), str(self._requested_port), self.invoke_url],
            stdin=subprocess.PIPE,  # its leash: moto exits when this closes (stop, or we die)
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def wait_ready(self) -> None:
        """Read the bound port, then turn the real ASL interpreter on."""
        assert self.proc is not None
        assert self.proc.stdout is not None
        ready: dict[str, Any] = {}

        def read_port() -> None:
            assert self.proc is not None
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                if line.startswith('{"port"'):
                    ready.update(json.loads(line))
                    return
                log.warning("moto: %s", line.rstrip())

        reader = threading.Thread(target=read_port, daemon=True)
        reader.start()
        reader.join(READY_TIMEOUT_S)
        if "port" not in ready:
            raise MotoError(f"moto did not start (exit status {self.proc.poll()}; port in use?)")
        threading.Thread(target=self._drain, daemon=True).start()
        self.port = int(ready["port"])
        self.url = f"http://127.0.0.1:{self.port}"
        response = httpx.post(f"{self.url}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}})
        response.raise_for_status()

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def _drain(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            log.debug("moto: %s", line.rstrip())

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, **dummy_credentials())

    def stop(self) -> None:
        """End moto's process (its state goes with it) and the invoke server."""
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._thread.is_alive():
            self._invoke_server.shutdown()
        self._invoke_server.server_close()
        self._thread.join(timeout=10)


# get_secret_value's answers for a secret deleted after list_secrets saw it.
GONE = frozenset({"ResourceNotFoundException", "InvalidRequestException"})
RETRY_S = 1.0


class SecretsSnapshot:
    """moto keeps no state across restarts; `make run` keeps secrets and parameters in a file.

    DynamoDB Local persists the apps, and their provider keys live in Secrets Manager: without
    this, a restarted stack would have apps whose secrets are gone. API Gateway keys (each app's
    usage key, and which usage plans hold it) are kept the same way; `restore` re-creates the
    keys, and provisioning puts them back in their plans (`plan_keys`) once the plans exist.
    """

    def __init__(self, moto: MotoServer, path: Path) -> None:
        self.moto = moto
        self.path = path
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="secrets-snapshot", daemon=True)
        self.plan_keys: dict[str, list[str]] = {}  # usage plan name -> restored API key ids

    def restore(self) -> int:
        """Re-create the saved secrets and parameters; returns how many."""
        if not self.path.exists():
            return 0
        saved = json.loads(self.path.read_text(encoding="utf-8"))
        sm, ssm = self.moto.client("secretsmanager"), self.moto.client("ssm")
        for secret in saved.get("secrets", []):
            kwargs: dict[str, Any] = {"Name": secret["Name"], "Description": secret.get("Description", "")}
            kwargs["SecretString" if "SecretString" in secret else "SecretBinary"] = secret.get(
                "SecretString", secret.get("SecretBinary")
            )
            sm.create_secret(**kwargs)
        for param in saved.get("parameters", []):
            ssm.put_parameter(Name=param["Name"], Value=param["Value"], Type=param["Type"], Overwrite=True)
        apigateway = self.moto.client("apigateway")
        for key in saved.get("api_keys", []):
            created = apigateway.create_api_key(
                name=key["name"], value=key["value"], enabled=key["enabled"], description=key.get("description", "")
            )
            for plan in key.get("plans", []):
                self.plan_keys.setdefault(plan, []).append(created["id"])
        return len(saved.get("secrets", [])) + len(saved.get("parameters", [])) + len(saved.get("api_keys", []))

    def start(self) -> None:
        self.moto.seam.on_write = self._dirty.set
        self._thread.start()

    def _loop(self) -> None:
        """One snapshot per burst of writes; a failed round is retried, the thread never dies."""
        while not self._stop.is_set():
            if self._dirty.wait(timeout=0.5):
                self._dirty.clear()
                try:
                    self.save()
                except Exception:
                    log.exception("secrets snapshot failed; retrying in %.0f s", RETRY_S)
                    self._dirty.set()
                    self._stop.wait(RETRY_S)

    def save(self) -> None:
        """Write every secret's current value and every parameter to the snapshot file."""
        sm, ssm = self.moto.client("secretsmanager"), self.moto.client("ssm")
        secrets = []
        for page in sm.get_paginator("list_secrets").paginate():
            for entry in page["SecretList"]:
                try:
                    value = sm.get_secret_value(SecretId=entry["ARN"])
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") in GONE:
                        continue  # deleted (or scheduled for deletion) since the list: not worth keeping
                    raise
                item = {"Name": entry["Name"], "Description": entry.get("Description", "")}
                if "SecretString" in value:
                    item["SecretString"] = value["SecretString"]
                else:
                    item["SecretBinary"] = value["SecretBinary"].decode("latin-1")
                secrets.append(item)
        parameters = [
            {"Name": p["Name"], "Value": p["Value"], "Type": p["Type"]}
            for page in ssm.get_paginator("get_parameters_by_path").paginate(
                Path="/", Recursive=True, WithDecryption=True
            )
            for p in page["Parameters"]
        ]
        snapshot = {"secrets": secrets, "parameters": parameters, "api_keys": self._api_keys()}
        write_private(self.path, json.dumps(snapshot, indent=1))

    def _api_keys(self) -> list[dict[str, Any]]:
        apigateway = self.moto.client("apigateway")
        plans: dict[str, list[str]] = {}
        for plan in apigateway.get_usage_plans().get("items", []):
            for key in apigateway.get_usage_plan_keys(usagePlanId=plan["id"]).get("items", []):
                plans.setdefault(key["id"], []).append(plan["name"])
        return [
            {
                "name": key.get("name", ""),
                "value": key["value"],
                "enabled": key.get("enabled", True),
                "description": key.get("description", ""),
                "plans": plans.get(key["id"], []),
            }
            for key in apigateway.get_api_keys(includeValues=True).get("items", [])
        ]

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self._dirty.is_set():
            self.save()
