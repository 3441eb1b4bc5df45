"""A scriptable notification receiver: stands in for the merchant's notify URL in tests and demos."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class Received:
    """One notification as the receiver saw it."""

    path: str
    content_type: str
    raw: bytes
    at: float
    headers: tuple[tuple[str, str], ...] = ()  # as received, names lower-cased

    def json(self) -> Any:
        return json.loads(self.raw)


class RecordingReceiver:
    """Answers POSTs with queued replies (then ``default_reply``) and records every request."""

    def __init__(self, replies: Iterable[str] = (), default_reply: str = "SUCC") -> None:
        self._replies: deque[str] = deque(replies)
        self.default_reply = default_reply
        self._received: list[Received] = []
        self._changed = threading.Condition()
        self._only_under: str | None = None
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])

    def reset(self, default_reply: str = "SUCC", *, only_under: str | None = None) -> None:
        """Forget what was received and queued (one receiver shared by many tests).

        With `only_under` (a path prefix), requests to other paths are answered but not recorded:
        a notification an earlier user of the receiver had on the wire when it reset cannot land
        among the next user's (give each user a prefix of its own)."""
        with self._changed:
            self._replies.clear()
            self._received.clear()
            self.default_reply = default_reply
            self._only_under = only_under

    def queue_replies(self, *replies: str) -> None:
        """Answer the next requests with these bodies, in order."""
        with self._changed:
            self._replies.extend(replies)

    @property
    def received(self) -> list[Received]:
        with self._changed:
            return list(self._received)

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[Received]:
        """Block until at least ``count`` requests arrived; raises TimeoutError otherwise."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while len(self._received) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"received {len(self._received)} of {count} notifications")
                self._changed.wait(remaining)
            return list(self._received)

    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        with self._changed:
            if self._only_under is not None and not request.url.path.startswith(self._only_under):
                return PlainTextResponse(self.default_reply)  # an earlier user's late notification
            self._received.append(
                Received(
                    path=request.url.path,
                    content_type=request.headers.get("content-type", ""),
                    raw=raw,
                    at=time.time(),
                    headers=tuple(request.headers.items()),
                )
            )
            reply = self._replies.popleft() if self._replies else self.default_reply
            self._changed.notify_all()
        return PlainTextResponse(reply)
