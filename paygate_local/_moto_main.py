"""moto's own process: moto's WSGI app behind a seam that hands Lambda Invoke to the runner.

Run by `paygate_local.moto_server.MotoServer` as `python -P _moto_main.py PORT RUNNER_URL`.
moto keeps its state in module globals and its Step Functions interpreter reads MOTO_PORT from
the environment, so a process of its own keeps every stack (and any `mock_aws` test in the
runner's process) apart. Prints `{"port": N}` once it listens.
"""

import http.client
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, make_server

INVOKE = re.compile(r"^/2015-03-31/functions/[^/]+/invocations/?$")
# Requests that change state worth persisting (Secrets Manager, SSM, API Gateway keys): the
# runner snapshots them.
WRITE_TARGET = re.compile(
    r"^(secretsmanager\.(Create|Put|Update|Delete|Restore|Rotate|Tag|Untag)\w*"
    r"|AmazonSSM\.(Put|Delete|Label|AddTags|RemoveTags)\w*)$"
)
# API Gateway's API is REST, not targeted: its key and usage-plan changes are found by path.
WRITE_PATH = re.compile(r"^/(apikeys|usageplans)(/|$)")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PASSED_BACK = {"content-type", "content-length"}
FORWARDED_HEADERS = ("Content-Type", "X-Amz-Invocation-Type", "X-Amz-Client-Context", "X-Amz-Log-Type")


class Seam:
    """Invoke requests go to the runner (which owns the function workers); the rest to moto."""

    def __init__(self, moto_app: Any, runner_url: str) -> None:
        self.moto_app = moto_app
        parts = urlsplit(runner_url)
        self.runner = (parts.hostname or "127.0.0.1", parts.port or 80)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST" and INVOKE.match(environ.get("PATH_INFO", "")):
            return self.forward(environ, start_response)
        result: Iterable[bytes] = self.moto_app(environ, start_response)
        if WRITE_TARGET.match(environ.get("HTTP_X_AMZ_TARGET", "")) or (
            environ.get("REQUEST_METHOD") in WRITE_METHODS and WRITE_PATH.match(environ.get("PATH_INFO", ""))
        ):
            threading.Thread(target=self.notify, daemon=True).start()
        return result

    def forward(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {}
        for name in FORWARDED_HEADERS:
            value = environ.get("HTTP_" + name.upper().replace("-", "_")) or (
                environ.get("CONTENT_TYPE") if name == "Content-Type" else None
            )
            if value:
                headers[name] = value
        path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ["PATH_INFO"]
        conn = http.client.HTTPConnection(*self.runner, timeout=960)  # Lambda's max is 900 s
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            kept = [
                (k, v) for k, v in response.getheaders() if k.lower() in PASSED_BACK or k.lower().startswith("x-am")
            ]
            start_response(f"{response.status} {response.reason}", kept)
            return [data]
        finally:
            conn.close()

    def notify(self) -> None:
        conn = http.client.HTTPConnection(*self.runner, timeout=10)
        try:
            conn.request("POST", "/_local/moto-write", body=b"")
            conn.getresponse().read()
        except OSError:
            pass
        finally:
            conn.close()


class QuietHandler(WSGIRequestHandler):
    """No request lines, and no bad-request messages (they quote the request line, query and all).
    No `Server` header either, as AWS endpoints send none naming werkzeug.

    Exceptions in moto still reach werkzeug's logger through the server."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def log(self, type: str, message: str, *args: Any) -> None:
        pass


def main() -> None:
    port, runner_url = int(sys.argv[1]), sys.argv[2]
    app = Seam(DomainDispatcherApplication(create_backend_app), runner_url)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
    # moto's interpreter builds the Lambda task URL from MOTO_PORT.
    os.environ["MOTO_PORT"] = str(server.server_port)
    print(json.dumps({"port": server.server_port}), flush=True)
    threading.Thread(target=warm_up, daemon=True).start()
    threading.Thread(target=exit_with_runner, daemon=True).start()
    server.serve_forever()


def exit_with_runner() -> None:
    """The runner holds our stdin open; EOF means it stopped us or died: leave no orphan."""
    sys.stdin.buffer.read()
    os._exit(0)


def warm_up() -> None:
    """Import the backends the stack uses while the runner does other things (about a second)."""
    import importlib

    for module in ("sqs", "events", "secretsmanager", "ssm", "apigateway", "stepfunctions.parser.models"):
        importlib.import_module(f"moto.{module}.models" if "." not in module else f"moto.{module}")


if __name__ == "__main__":
    main()
