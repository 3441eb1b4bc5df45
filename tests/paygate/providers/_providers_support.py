"""Test doubles for the provider adapter tests: a scripted in-memory provider and a real local server."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx

from paygate.credentials import BeeCloudCredentials, BeilyPayCredentials

# Public demo credentials from the providers' own SDK samples (protocols §1.7, §2.6).
BEECLOUD_CREDS = BeeCloudCredentials(
    app_id="c5d1cba1-5e3f-4ba0-941d-9b0a371fe719",
    app_secret="39a7a518-9ac8-4a9e-87bc-7885f33cf18c",
    master_secret="e14ae2db-608c-4f8b-b863-c8c18953eef2",
)
BEILYPAY_CREDS = BeilyPayCredentials(app_id=1183601355, merchant_id=3, secret="8c62bd95169ba8818c676a6f2025b8e5")


def md5_hex(text: str) -> str:
    """An independent MD5 for the held-back vectors (the providers' hash, not a security choice)."""
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324


# 1435890533866 ms, with a half-millisecond margin so float truncation cannot move it.
FIXED_NOW_S = 1435890533.8665
FIXED_NOW_MS = 1435890533866

Reply = dict[str, Any] | tuple[int, Any] | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class ScriptedProvider:
    """An httpx.MockTransport that answers from a script and records every request.

    Each reply is a JSON object (HTTP 200), `(status, body)` with body a dict, str or bytes,
    an exception to raise (httpx.ReadTimeout…), or a callable. The last reply repeats.
    """

    replies: list[Reply]
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        status, body = (200, reply) if isinstance(reply, dict) else reply
        if isinstance(body, dict | list):
            return httpx.Response(status, json=body)
        content = body.encode() if isinstance(body, str) else body
        return httpx.Response(status, content=content, headers={"Content-Type": "text/html"})

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


# -- a real HTTP server on 127.0.0.1 ------------------------------------------------------------


@dataclass
class LocalServer:
    """A threaded HTTP server on 127.0.0.1:<free port>; `behaviour` decides what each request gets."""

    behaviour: str = "ok"  # ok | slow | drop | http500
    body: dict[str, Any] = field(default_factory=dict)
    delay_s: float = 1.0
    hits: int = 0
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


def handler_for(state: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            with state.lock:
                state.hits += 1
            if state.behaviour == "slow":
                time.sleep(state.delay_s)
            if state.behaviour == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            status = 500 if state.behaviour == "http500" else 200
            payload = json.dumps(state.body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # a slow answer the client stopped waiting for: expected

        do_GET = _serve  # noqa: N815 - http.server's naming
        do_POST = _serve  # noqa: N815

    return Handler
