"""Serving an emulator: a real uvicorn server in a thread (tests, local stack) or in the foreground."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

STARTUP_TIMEOUT_S = 10.0
# A hanging request (fault "hang") must not keep a stopping server alive for its full delay.
GRACEFUL_SHUTDOWN_S = 1


@dataclass
class RunningServer:
    """A server started by :func:`serve_in_thread`; ``stop()`` shuts it down and joins the thread."""

    url: str
    _server: uvicorn.Server
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=STARTUP_TIMEOUT_S)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=STARTUP_TIMEOUT_S)


def serve_in_thread(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Start uvicorn in a daemon thread; returns once it accepts connections (port 0 = any free)."""
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
    # and without it every response pays Nagle + delayed ACK (~40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"server on {bound_host}:{bound_port} did not start")
        time.sleep(0.01)
    return RunningServer(url=f"http://{bound_host}:{bound_port}", _server=server, _thread=thread)


def run_forever(app: ASGIApp, host: str, port: int) -> None:
    """Serve in the foreground until Ctrl-C (``python -m sandbox.<provider>``)."""
    uvicorn.run(app, host=host, port=port, log_level="info")
