"""The inside of one local "Lambda container": import the handler once, then serve invocations.

Runs as its own interpreter (``python -P _bootstrap.py``) with the function's environment, so it
imports nothing from paygate_local. Protocol: JSON lines on two inherited pipe fds, one request
in, one response out, strictly one at a time (a Lambda container is single-concurrency).
"""

import fnmatch
import importlib
import json
import logging
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any, TextIO

# The Python runtime's text log format: level, UTC time, request id, message.
RUNTIME_LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"
_request_id = ""


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _request_id
        return True


def configure_runtime_logging(stream: TextIO) -> None:
    """The root logger as Lambda's Python runtime leaves it: one text handler, level WARNING.

    So a plain `logging` logger behaves as in Lambda (INFO dropped, text lines), and Powertools'
    Logger finds the handler it keeps its own records away from."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    formatter = logging.Formatter(RUNTIME_LOG_FORMAT, "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(_RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def set_request_id(request_id: str) -> None:
    """The id the runtime's log lines carry, per invocation."""
    global _request_id
    _request_id = request_id


# Test hook (never set by `make run`): a directory of kill points. A kill point is a JSON file
# {"point": "before_send" | "after_answer", "path": "/1/rest/bill", "method": "POST"}; the first
# worker whose outgoing httpx request matches takes the file (an atomic rename) and SIGKILLs
# itself: before the request is sent, or once the answer has been read. This is how a test stops
# a Lambda container between the ledger write and the provider call, or between the provider's
# answer and the ledger update. The handler's code knows nothing of it.
KILL_DIR_ENV = "PAYGATE_LOCAL_KILL_DIR"


class LambdaContext:
    """The attributes and method of the Python runtime's context object that handlers use."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = request["invoked_function_arn"]
        self.aws_request_id = request["request_id"]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = int(request["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:]),
    }


def _load_handler() -> Any:
    module_name, _, func_name = os.environ["_HANDLER"].rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    return getattr(module, func_name)


def _take_kill_point(directory: Path, point: str, method: str, path: str) -> Path | None:
    for rule_file in sorted(directory.glob("*.json")):
        try:
            rule = json.loads(rule_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # taken by another worker meanwhile, or being written
        if rule.get("point") != point or rule.get("method", "POST") != method:
            continue
        if not path.startswith(str(rule.get("path", ""))):
            continue
        fired = rule_file.with_suffix(f".fired-{os.getpid()}")
        try:
            rule_file.rename(fired)
        except OSError:
            continue  # another worker took it first
        return fired
    return None


def _install_kill_points(directory: Path) -> None:
    """Wrap httpx.Client.send so that a matching kill point ends this process (SIGKILL)."""
    import httpx

    original = httpx.Client.send

    def die_if_asked(point: str, request: httpx.Request) -> None:
        fired = _take_kill_point(directory, point, request.method, request.url.path)
        if fired is not None:
            print(f"[KILL] {point} {request.method} {request.url.path} ({fired.name})", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        die_if_asked("before_send", request)
        response = original(self, request, **kwargs)
        die_if_asked("after_answer", request)
        return response

    httpx.Client.send = send  # type: ignore[method-assign]


# The actions this function's role allows (paygate_local.iam), as a JSON list of IAM patterns. Set by
# the stack; unset (sam local, a test invoking the bootstrap by hand) means no check.
IAM_ACTIONS_ENV = "_PAYGATE_LOCAL_IAM_ACTIONS"
IAM_DENIED_MARKER = "PAYGATE_LOCAL_IAM_DENIED"


# API operations IAM authorizes as other actions: a transaction as its items' own actions, SQS's
# batch calls as their single-message actions (each service's authorization reference).
_TRANSACT_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
_SQS_BATCH_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def iam_actions(prefix: str, operation: str, params: Any) -> list[str]:
    """The IAM actions one API call needs."""
    if prefix == "dynamodb" and operation == "TransactWriteItems":
        return sorted(
            {f"dynamodb:{_TRANSACT_ITEM_ACTIONS[next(iter(item))]}" for item in params.get("TransactItems", [])}
        )
    if prefix == "dynamodb" and operation == "TransactGetItems":
        return ["dynamodb:GetItem"]
    if prefix == "sqs" and operation in _SQS_BATCH_ACTIONS:
        return [f"sqs:{_SQS_BATCH_ACTIONS[operation]}"]
    return [f"{prefix}:{operation}"]


def is_allowed(action: str, granted: list[str]) -> bool:
    """IAM's matching: case-insensitive, `*` and `?` wildcards."""
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in granted)


def _install_iam_check(granted: list[str]) -> None:
    """Refuse, as IAM would, every AWS call needing an action the role does not allow; say so on the log."""
    import botocore.client
    from botocore.exceptions import ClientError

    original = botocore.client.BaseClient._make_api_call

    def make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        for action in iam_actions(self.meta.service_model.signing_name, operation_name, api_params):
            if not is_allowed(action, granted):
                print(f"{IAM_DENIED_MARKER} {action}", flush=True)
                message = f"{os.environ.get('AWS_LAMBDA_FUNCTION_NAME')} is not authorized to perform: {action}"
                raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, operation_name)
        return original(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = make_api_call


def main() -> None:
    req_fd, resp_fd = (int(fd) for fd in os.environ.pop("_PAYGATE_LOCAL_FDS").split(","))
    kill_dir = os.environ.pop(KILL_DIR_ENV, "")
    if kill_dir:
        _install_kill_points(Path(kill_dir))
    granted = os.environ.pop(IAM_ACTIONS_ENV, "")
    if granted:
        _install_iam_check(json.loads(granted))
    requests = os.fdopen(req_fd, "r", encoding="utf-8")
    responses = os.fdopen(resp_fd, "w", encoding="utf-8")

    def send(message: dict[str, Any]) -> None:
        responses.write(json.dumps(message) + "\n")
        responses.flush()

    configure_runtime_logging(sys.stdout)
    started = time.monotonic()
    try:
        handler = _load_handler()
    except Exception as exc:  # the runtime reports import failures as an init error
        print(f"[ERROR] Runtime.ImportModuleError: {exc}", file=sys.stderr, flush=True)
        send({"init_error": _error(exc, "Runtime.ImportModuleError")})
        return
    send({"ready": True, "init_ms": round((time.monotonic() - started) * 1000, 2)})

    for line in requests:
        request = json.loads(line)
        os.environ["_X_AMZN_TRACE_ID"] = request.get("trace_id", "")
        set_request_id(request["request_id"])
        try:
            result = handler(request["event"], LambdaContext(request))
            try:
                payload = json.dumps(result)
            except (TypeError, ValueError) as exc:
                send({"error": _error(exc, "Runtime.MarshalError")})
                continue
            send({"result_json": payload})
        except Exception as exc:
            # The Python runtime logs unhandled errors as [ERROR] lines before returning them.
            print(f"[ERROR] {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            traceback.print_exc(file=sys.stderr)
            send({"error": _error(exc)})


if __name__ == "__main__":
    main()
