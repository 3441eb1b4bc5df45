"""A scripted webhook receiver on 127.0.0.1: records every request, answers per path.

`receiver.script("/a", 500, 500, 200)` answers 500, 500, then 200 for ever on /a;
`receiver.hold("/slow")` makes /slow wait until `receiver.release("/slow")` (bounded).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.polling import eventually

HOLD_LIMIT_S = 30.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None  # None while the answer is held back


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, list[int]] = field(default_factory=dict)
    gates: dict[str, threading.Event] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, path: str, *statuses: int) -> str:
        self.scripts[path] = list(statuses)
        return self.url + path

    def hold(self, path: str) -> str:
        self.gates[path] = threading.Event()
        return self.url + path

    def release(self, path: str) -> None:
        self.gates[path].set()

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def _answer(self, path: str) -> int:
        with self.lock:
            statuses = self.scripts.get(path, [200])
            return statuses.pop(0) if len(statuses) > 1 else statuses[0]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            request = Received(self.path, {k: v for k, v in self.headers.items()}, body)
            with receiver.lock:
                receiver.requests.append(request)
            gate = receiver.gates.get(self.path)
            if gate is not None:
                gate.wait(HOLD_LIMIT_S)
            status = receiver._answer(self.path)
            request.status = status
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the dispatcher gave up (timeout) and closed the connection

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Receiver("")))
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(receiver)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        for gate in receiver.gates.values():
            gate.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def wait_for(probe: Any, *, timeout: float = 15.0, interval: float = 0.02) -> Any:
    """Poll until probe() is truthy (bounded); never a fixed sleep."""
    return eventually(probe, timeout=timeout, interval=interval)
