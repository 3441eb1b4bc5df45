"""Failure injection: a plan of one-shot fault rules and the ASGI middleware that applies request faults.

Tests and the local stack add rules through the control API (``POST /_sandbox/faults``); the
middleware consumes ``request`` rules, the :class:`~sandbox.common.notifier.Notifier` consumes
``callback`` rules. Every rule is used ``count`` times and then disappears, so a test states
exactly how many requests or notifications misbehave.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("sandbox.faults")

FaultScope = Literal["request", "callback"]

# Answer faults: the request is processed and its JSON answer stays valid JSON, but one `field`
# (a dotted path; `*` stands for every element of a list) is removed or given a wrong JSON type.
FIELD_KINDS: frozenset[str] = frozenset({"missing_field", "wrong_type"})
REQUEST_KINDS: frozenset[str] = frozenset({"latency", "error", "hang", "malformed"}) | FIELD_KINDS
CALLBACK_KINDS: frozenset[str] = frozenset({"drop", "duplicate", "out_of_order", "bad_signature", "delay"})

# Defaults chosen so that an unqualified rule does what its name promises.
DEFAULT_DELAY_S: dict[str, float] = {"latency": 1.0, "hang": 30.0, "delay": 5.0, "out_of_order": 10.0}
DEFAULT_PROCESS: dict[str, bool] = {"latency": True, "error": False, "hang": False, "malformed": True}
CONTROL_PREFIX = "/_sandbox"


@dataclass
class FaultRule:
    """One injected fault, consumed ``count`` times; ``path`` is a prefix filter (None = any).

    A ``path`` ending in ``$`` matches that path exactly: ``/1/rest/bill$`` is the bill create
    alone, where the prefix ``/1/rest/bill`` also matches the bill query ``/1/rest/bills``.
    """

    id: str
    scope: FaultScope
    kind: str
    path: str | None
    count: int
    delay_s: float
    status: int
    process: bool
    field: str | None = None


def _matches(rule_path: str, path: str) -> bool:
    if rule_path.endswith("$"):
        return path == rule_path[:-1]
    return path.startswith(rule_path)


class FaultPlan:
    """Thread-safe list of pending fault rules (the server loop and test threads both touch it)."""

    def __init__(self, *, extra_request_kinds: Iterable[str] = ()) -> None:
        # Providers add their own request kinds (BeilyPay: business error codes); they consume
        # those rules themselves via ``take(..., kinds=...)``.
        self._kinds: dict[str, frozenset[str]] = {
            "request": REQUEST_KINDS | frozenset(extra_request_kinds),
            "callback": CALLBACK_KINDS,
        }
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def kinds(self, scope: str) -> frozenset[str]:
        """The fault kinds accepted for ``scope`` (empty for an unknown scope)."""
        return self._kinds.get(scope, frozenset())

    def add(
        self,
        *,
        scope: str,
        kind: str,
        path: str | None = None,
        count: int = 1,
        delay_s: float | None = None,
        status: int = 500,
        process: bool | None = None,
        field: str | None = None,
    ) -> FaultRule:
        """Validate and append a rule; raises ValueError with a readable reason on bad input."""
        if scope not in self._kinds:
            raise ValueError(f"scope must be one of {sorted(self._kinds)}")
        if kind not in self._kinds[scope]:
            raise ValueError(f"kind for scope {scope!r} must be one of {sorted(self._kinds[scope])}")
        if path is not None and not isinstance(path, str):
            raise ValueError("path must be a string or null")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("count must be an integer >= 1")
        if delay_s is not None and (isinstance(delay_s, bool) or not isinstance(delay_s, int | float) or delay_s < 0):
            raise ValueError("delay_s must be a number >= 0")
        if isinstance(status, bool) or not isinstance(status, int) or status < 1:
            raise ValueError("status must be a positive integer")
        if kind in REQUEST_KINDS and not 100 <= status <= 599:
            raise ValueError("status must be an HTTP status (100-599)")
        if process is not None and not isinstance(process, bool):
            raise ValueError("process must be a boolean")
        _check_field(kind, field, process)
        rule = FaultRule(
            id=f"f{next(self._ids)}",
            scope=scope,  # type: ignore[arg-type]  # checked against self._kinds above
            kind=kind,
            path=path,
            count=count,
            delay_s=float(DEFAULT_DELAY_S.get(kind, 0.0) if delay_s is None else delay_s),
            status=status,
            process=DEFAULT_PROCESS.get(kind, True) if process is None else process,
            field=field,
        )
        with self._lock:
            self._rules.append(rule)
        logger.info("fault added: %s", rule)
        return replace(rule)

    def take(self, scope: str, path: str, kinds: Collection[str] | None = None) -> FaultRule | None:
        """Consume one use of the oldest rule matching scope, path prefix and (optionally) kinds."""
        with self._lock:
            for rule in self._rules:
                if rule.scope != scope or (kinds is not None and rule.kind not in kinds):
                    continue
                if rule.path is not None and not _matches(rule.path, path):
                    continue
                rule.count -= 1
                if rule.count <= 0:
                    self._rules.remove(rule)
                logger.info("fault %s (%s/%s) applied to %s", rule.id, scope, rule.kind, path)
                return replace(rule)
        return None

    def list(self) -> list[FaultRule]:
        """Snapshot of the pending rules (copies: callers cannot mutate the plan)."""
        with self._lock:
            return [replace(rule) for rule in self._rules]

    def clear(self) -> None:
        """Drop every pending rule."""
        with self._lock:
            self._rules.clear()


def _check_field(kind: str, field: str | None, process: bool | None) -> None:
    """`field` is required by the answer-field kinds and meaningless for every other kind."""
    if kind in FIELD_KINDS:
        if not isinstance(field, str) or not all(key.strip() for path in field.split(",") for key in path.split(".")):
            raise ValueError(f"field (a dotted path such as data.orderNo) is required for kind {kind!r}")
        if process is False:
            raise ValueError(f"kind {kind!r} always processes the request")
    elif field is not None:
        raise ValueError(f"field only applies to kinds {sorted(FIELD_KINDS)}")


class FaultMiddleware:
    """Pure ASGI middleware applying ``request`` faults to every path outside ``/_sandbox``."""

    def __init__(self, app: ASGIApp, plan: FaultPlan, time_scale: float = 1.0) -> None:
        self.app = app
        self.plan = plan
        self.time_scale = time_scale

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        rule = self.plan.take("request", path, kinds=REQUEST_KINDS)
        if rule is None:
            await self.app(scope, receive, send)
            return
        delay = rule.delay_s * self.time_scale
        if rule.kind == "latency":
            await asyncio.sleep(delay)
            if rule.process:
                await self.app(scope, receive, send)
            else:
                await _send_text(send, rule.status, "injected fault: latency")
        elif rule.kind == "error":
            await _send_text(send, rule.status, f"injected fault: error {rule.status}")
        elif rule.kind == "hang":
            await self._hang(rule, scope, receive, delay)
            # Only reached when the hang outlived the client; nobody reads this answer.
            await _send_text(send, rule.status, "injected fault: hang")
        elif rule.kind in FIELD_KINDS:
            await self._bad_field(rule, scope, receive, send)
        else:  # malformed
            await self._malformed(rule, scope, receive, send)

    async def _hang(self, rule: FaultRule, scope: Scope, receive: Receive, delay: float) -> None:
        if rule.process:
            # "The provider did it but the response was lost": run the app, discard its answer.
            await self.app(scope, receive, _discard)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_wait_disconnect(receive), timeout=delay)

    async def _malformed(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        status = 200
        body = b""
        if rule.process:
            captured: list[Message] = []

            async def capture(message: Message) -> None:
                captured.append(message)

            await self.app(scope, receive, capture)
            for message in captured:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                elif message["type"] == "http.response.body":
                    body += message.get("body", b"")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": truncate_json(body)})

    async def _bad_field(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        """Process the request, then remove or retype one field of its JSON answer."""
        captured: list[Message] = []

        async def capture(message: Message) -> None:
            captured.append(message)

        await self.app(scope, receive, capture)
        start = next(m for m in captured if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in captured if m["type"] == "http.response.body")
        assert rule.field is not None  # FaultPlan.add requires it for these kinds
        body = alter_field(body, rule.field, remove=rule.kind == "missing_field")
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body})


def wrong_type(value: Any) -> Any:
    """The same data under another JSON type: a list becomes an object, anything else a list."""
    if isinstance(value, list):
        return {"items": value}
    return [value]


def alter_field(body: bytes, field: str, *, remove: bool) -> bytes:
    """Remove (or retype) `field` in a JSON body; a body or path that does not match is left alone.

    `field` is a dotted path of object keys, `*` standing for every element of a list (so
    `bills.*.spay_result` alters that key in each bill); several paths are separated by commas
    (`data.sign,data.status`: an answer whose signature is gone and whose status is broken). The
    result is always valid JSON when the input was.
    """
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body
    changed = False
    for path in field.split(","):
        changed = _alter_path(document, path.strip().split("."), remove=remove) or changed
    if not changed:
        return body
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _alter_path(document: Any, keys: list[str], *, remove: bool) -> bool:
    parents: list[Any] = [document]
    for key in keys[:-1]:
        parents = [child for parent in parents for child in _children(parent, key)]
    last = keys[-1]
    changed = False
    for parent in parents:
        if isinstance(parent, dict) and last in parent:
            if remove:
                del parent[last]
            else:
                parent[last] = wrong_type(parent[last])
            changed = True
        elif isinstance(parent, list) and last == "*" and parent:
            if remove:
                parent.clear()
            else:
                parent[:] = [wrong_type(item) for item in parent]
            changed = True
    return changed


def _children(parent: Any, key: str) -> list[Any]:
    if key == "*" and isinstance(parent, list):
        return list(parent)
    if isinstance(parent, dict) and key in parent:
        return [parent[key]]
    return []


def truncate_json(body: bytes) -> bytes:
    """Cut a JSON body in half so that no JSON parser accepts it (never returns valid JSON)."""
    cut = body[: len(body) // 2]
    if not cut.strip():
        return b'{"code":'
    try:
        json.loads(cut)
    except ValueError:
        return cut
    return b'{"code":'


async def _discard(message: Message) -> None:
    return None


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _send_text(send: Send, status: int, text: str) -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def rule_as_json(rule: FaultRule) -> dict[str, Any]:
    """JSON form of a rule for the control API."""
    return {
        "id": rule.id,
        "scope": rule.scope,
        "kind": rule.kind,
        "path": rule.path,
        "count": rule.count,
        "delay_s": rule.delay_s,
        "status": rule.status,
        "process": rule.process,
        "field": rule.field,
    }
