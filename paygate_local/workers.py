"""Function workers: each function's handler runs in its own subprocesses, like Lambda containers.

A worker is one interpreter with the function's environment that imports the handler once (the
cold start) and then serves one invocation at a time. A pool per function scales out to
`max_workers` when every worker is busy, so concurrent requests really run concurrently. A
timed-out or crashed worker is killed and replaced on demand, as Lambda resets a sandbox.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from paygate_local import iam
from paygate_local.template import FunctionSpec

log = logging.getLogger(__name__)

BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
# Tests only: the directory of kill points a worker watches (see _bootstrap.py and arm_kill_point).
KILL_DIR_ENV = "PAYGATE_LOCAL_KILL_DIR"
KillPoint = Literal["before_send", "after_answer"]
INIT_TIMEOUT_S = 30.0  # generous: cold imports without .pyc take seconds on a laptop

LogSink = Callable[[str, str], None]  # (function name, line)


@dataclass(frozen=True)
class InvokeResult:
    """What the Lambda Invoke API returns: the JSON payload and whether it is an error."""

    payload: bytes
    function_error: str | None = None  # "Unhandled" like Lambda, or None

    def json(self) -> Any:
        return json.loads(self.payload)


def _error_result(error_type: str, message: str) -> InvokeResult:
    body = {"errorType": error_type, "errorMessage": message}
    return InvokeResult(json.dumps(body).encode(), "Unhandled")


class WorkerDiedError(RuntimeError):
    """The worker process exited (crash, sys.exit, kill) before answering."""


class Worker:
    """One subprocess serving one function, one invocation at a time."""

    def __init__(self, spec: FunctionSpec, env: Mapping[str, str], sink: LogSink) -> None:
        self.spec = spec
        self._responses: queue.Queue[dict[str, Any] | None] = queue.Queue()
        req_r, self._req_w = os.pipe()
        self._resp_r, resp_w = os.pipe()
        child_env = dict(env)
        child_env["_PAYGATE_LOCAL_FDS"] = f"{req_r},{resp_w}"
        self.proc = subprocess.Popen(  # noqa: S603 - our interpreter, our bootstrap
            [sys.executable, "-P", "-u", str(BOOTSTRAP)],
            env=child_env,
            cwd=spec.code_dir,
            pass_fds=(req_r, resp_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill takes its children too
        )
        os.close(req_r)
        os.close(resp_w)
        self._requests = os.fdopen(self._req_w, "w", encoding="utf-8")
        self._log_pump = threading.Thread(target=self._pump_logs, args=(sink,), daemon=True)
        self._log_pump.start()
        threading.Thread(target=self._pump_responses, daemon=True).start()
        self.init_ms: float | None = None

    def _pump_logs(self, sink: LogSink) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            sink(self.spec.name, raw.decode("utf-8", "replace").rstrip("\n"))

    def _pump_responses(self) -> None:
        with os.fdopen(self._resp_r, "r", encoding="utf-8") as stream:
            for line in stream:
                self._responses.put(json.loads(line))
        self._responses.put(None)  # EOF: the process is gone

    def _next(self, timeout: float) -> dict[str, Any]:
        message = self._responses.get(timeout=timeout)  # raises queue.Empty on timeout
        if message is None:
            self._responses.put(None)
            raise WorkerDiedError(f"exit status {self.proc.wait()}")
        return message

    def wait_ready(self) -> dict[str, Any] | None:
        """Block until the handler is imported; returns the init error payload if it failed."""
        try:
            message = self._next(INIT_TIMEOUT_S)
        except queue.Empty:
            self.kill()
            return {"errorType": "Runtime.InitTimeout", "errorMessage": "init did not finish"}
        except WorkerDiedError as exc:
            return {"errorType": "Runtime.ExitError", "errorMessage": f"Runtime exited: {exc}"}
        if "init_error" in message:
            self.kill()
            return dict(message["init_error"])
        self.init_ms = float(message["init_ms"])
        return None

    def invoke(self, event: Any, request_id: str, invoked_arn: str) -> InvokeResult:
        """Run one invocation within the function's Timeout; kill the worker if it overruns."""
        timeout = float(self.spec.timeout)
        request = {
            "event": event,
            "request_id": request_id,
            "invoked_function_arn": invoked_arn,
            "deadline_ms": int((time.time() + timeout) * 1000),
            "trace_id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
        }
        try:
            self._requests.write(json.dumps(request) + "\n")
            self._requests.flush()
            message = self._next(timeout)
        except queue.Empty:
            self.kill()
            return _error_result(
                "Sandbox.Timedout",
                f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds",
            )
        except (WorkerDiedError, BrokenPipeError) as exc:
            self.kill()
            return _error_result(
                "Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited with error: {exc}"
            )
        if "error" in message:
            return InvokeResult(json.dumps(message["error"]).encode(), "Unhandled")
        return InvokeResult(str(message["result_json"]).encode())

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def drain_logs(self, timeout_s: float) -> None:
        """After `kill`: wait until the sink has every line the worker wrote."""
        self._log_pump.join(timeout_s)

    def kill(self) -> None:
        """Stop the worker's whole process group and reap it."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        with contextlib.suppress(OSError):
            self._requests.close()


class FunctionPool:
    """Workers of one function: reuse an idle one, else start one, up to `max_workers`."""

    def __init__(self, spec: FunctionSpec, env: Mapping[str, str], sink: LogSink, max_workers: int = 4) -> None:
        self.spec = spec
        self.env = dict(env)
        self.sink = sink
        self.max_workers = max_workers
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._starting = 0
        self._cond = threading.Condition()
        self._closed = False

    def _acquire(self) -> Worker | dict[str, Any]:
        with self._cond:
            while True:
                if self._closed:
                    return {"errorType": "Runtime.Shutdown", "errorMessage": "the local stack is stopping"}
                while self._idle:
                    idle = self._idle.pop()
                    if idle.alive:
                        return idle
                    self._all.discard(idle)  # died while idle (killed from outside)
                    idle.kill()
                if len(self._all) + self._starting < self.max_workers:
                    self._starting += 1
                    break
                self._cond.wait()
        worker: Worker | None = None
        try:
            worker = Worker(self.spec, self.env, self.sink)
            init_error = worker.wait_ready()
        finally:
            with self._cond:
                self._starting -= 1
                if worker is not None and worker.alive:
                    self._all.add(worker)
                self._cond.notify_all()
        if init_error is not None:
            return init_error
        self.sink(self.spec.name, f"INIT_REPORT Init Duration: {worker.init_ms} ms")
        return worker

    def _release(self, worker: Worker) -> None:
        with self._cond:
            if worker.alive and not self._closed:
                self._idle.append(worker)
            else:
                self._all.discard(worker)
                worker.kill()
            self._cond.notify_all()

    def invoke(self, event: Any, invoked_arn: str | None = None) -> InvokeResult:
        """Synchronous invoke (RequestResponse), like Lambda's Invoke API."""
        request_id = str(uuid.uuid4())
        acquired = self._acquire()
        if isinstance(acquired, dict):
            return InvokeResult(json.dumps(acquired).encode(), "Unhandled")
        self.sink(self.spec.name, f"START RequestId: {request_id} Version: $LATEST")
        started = time.monotonic()
        try:
            result = acquired.invoke(event, request_id, invoked_arn or self.spec.arn)
        finally:
            self._release(acquired)
        ms = (time.monotonic() - started) * 1000
        self.sink(self.spec.name, f"END RequestId: {request_id}")
        self.sink(self.spec.name, f"REPORT RequestId: {request_id}\tDuration: {ms:.2f} ms")
        return result

    def submit(self, event: Any, invoked_arn: str | None = None) -> Future[InvokeResult]:
        """Invoke on a thread of its own; the caller may stop waiting (API Gateway's 29 s)."""
        future: Future[InvokeResult] = Future()

        def run() -> None:
            try:
                future.set_result(self.invoke(event, invoked_arn))
            except BaseException as exc:  # surfaced to whoever waits on the future
                future.set_exception(exc)

        threading.Thread(target=run, name=f"invoke-{self.spec.logical_id}", daemon=True).start()
        return future

    def worker_pids(self) -> list[int]:
        with self._cond:
            return [w.proc.pid for w in self._all]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.kill()


class Functions:
    """Every function of the template, addressable by logical id, name or ARN."""

    def __init__(
        self,
        specs: Mapping[str, FunctionSpec],
        env_for: Callable[[FunctionSpec], dict[str, str]],
        *,
        max_workers: int = 4,
        log_dir: Path | None = None,
    ) -> None:
        self._log_lock = threading.Lock()
        self._log_file = None
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            self._log_file = (log_dir / "functions.log").open("a", encoding="utf-8")
        self.pools: dict[str, FunctionPool] = {
            spec.logical_id: FunctionPool(spec, env_for(spec), self._sink, max_workers) for spec in specs.values()
        }
        self._by_key: dict[str, FunctionPool] = {}
        for pool in self.pools.values():
            for key in (pool.spec.logical_id, pool.spec.name, pool.spec.arn):
                self._by_key[key] = pool

    def _sink(self, name: str, line: str) -> None:
        if iam.record_denied(name, line):
            logging.getLogger(f"paygate_local.fn.{name}").error("IAM would refuse this call in AWS: %s", line)
        else:
            logging.getLogger(f"paygate_local.fn.{name}").info("%s", line)
        if self._log_file is not None:
            with self._log_lock:
                self._log_file.write(f"{name}\t{line}\n")
                self._log_file.flush()

    def find(self, name_or_arn: str) -> FunctionPool | None:
        """Lambda accepts a name, a full ARN or a partial ARN, optionally with a qualifier."""
        if name_or_arn in self._by_key:
            return self._by_key[name_or_arn]
        parts = name_or_arn.split(":")
        if len(parts) >= 7 and parts[5] == "function":
            return self._by_key.get(parts[6])
        if len(parts) == 2:  # name:qualifier
            return self._by_key.get(parts[0])
        return None

    def worker_pids(self) -> list[int]:
        return [pid for pool in self.pools.values() for pid in pool.worker_pids()]

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
        if self._log_file is not None:
            self._log_file.close()


def arm_kill_point(directory: Path, point: KillPoint, path: str, *, method: str = "POST") -> Path:
    """Make the next worker request to `path` (a prefix) SIGKILL its worker at `point` (tests only).

    Workers watch `directory` when their environment names it in KILL_DIR_ENV (StackConfig's
    `function_env`). `before_send`: after the handler wrote its ledger item, before the provider
    call leaves; `after_answer`: the provider has acted and answered, the ledger has not seen it.
    Each kill point fires once; `fired_kill_points` lists those that did.
    """
    directory.mkdir(parents=True, exist_ok=True)
    rule = directory / f"{uuid.uuid4().hex}.json"
    staging = rule.with_suffix(".tmp")
    staging.write_text(json.dumps({"point": point, "path": path, "method": method}), encoding="utf-8")
    staging.rename(rule)  # atomic: a worker never reads half a rule
    return rule


def fired_kill_points(directory: Path) -> list[Path]:
    """Kill points a worker has taken (and died of)."""
    return sorted(directory.glob("*.fired-*")) if directory.exists() else []


def lambda_environment(spec: FunctionSpec, base: Mapping[str, str], *, region: str = "us-east-1") -> dict[str, str]:
    """The environment of the function's container: the runtime's variables, then the template's."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": os.pathsep.join(str(p) for p in [spec.code_dir, *spec.layer_dirs]),
        "PYTHONUNBUFFERED": "1",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "LAMBDA_RUNTIME_DIR": str(Path(sys.executable).parent),
        "_HANDLER": spec.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
        "AWS_SAM_LOCAL": "true",  # what `sam local` sets; Powertools Tracer stays quiet
    }
    env.update(_shifted_clock())
    env.update(base)
    env.update(spec.environment)
    return env


def _shifted_clock() -> dict[str, str]:
    """libfaketime's settings when the stack runs under a shifted clock (`make test-clock`).

    Lambda's containers share the host's clock; the local ones must share a shifted one too, or
    the product would date refunds by another clock than the sandboxes and the tests.
    """
    preload = os.environ.get("LD_PRELOAD", "")
    if "faketime" not in preload:
        return {}
    return {"LD_PRELOAD": preload} | {k: v for k, v in os.environ.items() if k.startswith("FAKETIME")}
