"""Serving an emulator: a real uvicorn server in a thread (tests, local stack) or in the foreground."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger("sandbox.server")

ACCESS_LOGGER = "uvicorn.access"
STARTUP_TIMEOUT_S = 10.0
# A hanging request (fault "hang") must not keep a stopping server alive for its full delay.
GRACEFUL_SHUTDOWN_S = 1


class PathOnlyAccessFilter(logging.Filter):
    """uvicorn's access lines with the request's path only: a query may carry a key or a signature."""

    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn logs (client, method, path with query, HTTP version, status).
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
        return True


# RFC 9112 section 3.2.2: "http://host:port/path?query" is a valid request target (BeilyPay's Python
# SDK sends it). uvicorn on h11 hands it through as the path, so a route would never match.
_ABSOLUTE_FORM = re.compile(rb"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)")


class AbsoluteFormMiddleware:
    """Serves an absolute-form request target exactly like its origin form (path, raw_path, Host).

    As the RFC requires, the target's authority replaces the Host header, so URLs the app builds
    from the request (BeilyPay's payUrl) name the host the client asked for.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            root = scope.get("root_path", "")
            raw = scope.get("raw_path") or scope["path"].encode("utf-8")
            tail = raw[len(root.encode()) :] if raw.startswith(root.encode()) else raw
            match = _ABSOLUTE_FORM.match(tail)
            if match is not None:
                origin = tail[match.end() :] or b"/"
                authority = match.group(1).rsplit(b"@", 1)[-1]  # never userinfo
                headers = scope["headers"]
                if authority:  # "http:///path" names no host: the Host header stands
                    headers = [(name, value) for name, value in headers if name.lower() != b"host"]
                    headers.append((b"host", authority))
                scope = {
                    **scope,
                    "path": root + unquote(origin.decode("ascii")),
                    "raw_path": root.encode() + origin,
                    "headers": headers,
                }
        await self.app(scope, receive, send)


def _filter_access_log() -> None:
    """On the logger, not a handler: it holds for any handler, and uvicorn's config keeps it."""
    access = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, PathOnlyAccessFilter) for existing in access.filters):
        access.addFilter(PathOnlyAccessFilter())


@dataclass
class RunningServer:
    """A server started by :func:`serve_in_thread`; ``stop()`` shuts it down and joins the thread."""

    url: str
    _server: uvicorn.Server
    _thread: threading.Thread
    app: ASGIApp  # what it serves: a restart after `crash` serves the same app (and state) again

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def crash(self) -> None:
        """Stop like a killed process: connections cut, no lifespan shutdown, so the app keeps its state.

        Its timers and deliveries die with the event loop; serving the same app again runs its
        startup, which resumes them (a provider whose database survived the crash).
        """
        self._server.force_exit = True
        self.stop()

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=STARTUP_TIMEOUT_S)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=STARTUP_TIMEOUT_S)


def serve_in_thread(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning"
) -> RunningServer:
    """Start uvicorn in a daemon thread; returns once it accepts connections (port 0 = any free).

    `log_level` "info" turns on uvicorn's access log (paths without their query)."""
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
    # and without it every response pays Nagle + delayed ACK (~40 ms).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_host, bound_port = sock.getsockname()[:2]
    url_host = f"[{bound_host}]" if family == socket.AF_INET6 else bound_host
    config = uvicorn.Config(
        AbsoluteFormMiddleware(app),
        log_level=log_level,
        server_header=False,  # a provider does not answer "server: uvicorn"
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    _filter_access_log()
    server = uvicorn.Server(config)

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except SystemExit as exc:  # uvicorn exits this way when the app's startup fails
            logger.error("server on port %s exited during startup (code %s)", bound_port, exc.code)

    thread = threading.Thread(target=run, name=f"uvicorn-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout=STARTUP_TIMEOUT_S)
            sock.close()
            raise RuntimeError(f"server on {bound_host}:{bound_port} did not start")
        time.sleep(0.01)
    return RunningServer(url=f"http://{url_host}:{bound_port}", _server=server, _thread=thread, app=app)


def run_forever(app: ASGIApp, host: str, port: int) -> None:
    """Serve in the foreground until Ctrl-C (``python -m sandbox.<provider>``)."""
    _filter_access_log()
    uvicorn.run(AbsoluteFormMiddleware(app), host=host, port=port, log_level="info", server_header=False)
