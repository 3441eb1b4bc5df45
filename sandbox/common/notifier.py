"""Asynchronous delivery of signed provider notifications, with retries and callback faults.

Each :meth:`Notifier.submit` starts one *delivery*: attempts at ``schedule`` offsets (seconds
from submission, times ``time_scale``) until the receiver's answer is an acknowledgement
(``is_ack(body text)``) or the schedule runs out. Every attempt is logged and kept, so tests and
the control API (``GET /_sandbox/notifications``) can see exactly what a receiver got.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from sandbox.common.faults import FaultPlan, FaultRule

logger = logging.getLogger("sandbox.notifier")


def _without_query(url: str) -> str:
    """For logs: a notify URL's query may carry the receiver's token."""
    return url.split("?", 1)[0]


RESPONSE_BODY_LIMIT = 2000
ATTEMPTS_KEPT = 10_000  # a long-running local stack must not grow without bound


@dataclass
class Attempt:
    """One HTTP delivery attempt (or a dropped one) as the control API reports it."""

    delivery_id: str
    ref: str
    url: str
    attempt: int
    at: float
    body: dict[str, Any]
    status_code: int | None
    response_body: str
    error: str | None
    acked: bool
    fault: str | None


@dataclass
class _Delivery:
    id: str
    ref: str
    url: str
    body: dict[str, Any]
    fault: FaultRule | None
    release: asyncio.Event | None = None  # set for an out_of_order delivery held back
    to_release: list[_Delivery] = field(default_factory=list)


@dataclass(frozen=True)
class Sent:
    """What a delivery carried, as the provider signed it: what a redelivery sends again."""

    ref: str
    url: str
    body: dict[str, Any]


class Notifier:
    """Sends notifications on the running event loop; safe to query from other threads."""

    def __init__(
        self,
        *,
        schedule: Sequence[float],
        time_scale: float,
        is_ack: Callable[[str], bool],
        faults: FaultPlan,
        signature_field: str | Sequence[str],
        timeout_s: float = 10.0,
    ) -> None:
        if not schedule or any(b < a for a, b in itertools.pairwise(schedule)) or schedule[0] < 0:
            raise ValueError("schedule must be a non-empty, non-decreasing list of offsets >= 0")
        self.schedule = tuple(float(offset) for offset in schedule)
        self.time_scale = time_scale
        self.is_ack = is_ack
        self.faults = faults
        # Several names when a provider signs twice (BeeCloud: ``signature`` and legacy ``sign``).
        self.signature_fields: tuple[str, ...] = (
            (signature_field,) if isinstance(signature_field, str) else tuple(signature_field)
        )
        self.signature_field = self.signature_fields[0]
        self.timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._attempts: deque[Attempt] = deque(maxlen=ATTEMPTS_KEPT)
        self._lock = threading.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: list[_Delivery] = []
        # Deliveries not yet acknowledged or given up: what a provider keeps in its database and
        # sends again after a restart (`resume`). A reset or a clean shutdown forgets them.
        self._unfinished: dict[str, _Delivery] = {}
        self._sent: OrderedDict[str, Sent] = OrderedDict()  # bounded like the attempts
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def submit(self, *, ref: str, url: str, body: dict[str, Any]) -> str:
        """Schedule delivery of ``body`` to ``url`` on the running loop; returns the delivery id."""
        return self._submit(ref=ref, url=url, body=body, rule=self.faults.take("callback", ref))

    def redeliver(self, delivery_id: str) -> str:
        """Send a past delivery's notification again, as signed and without its fault (a provider
        console's "resend" button); returns the new delivery's id. KeyError for an unknown id."""
        with self._lock:
            sent = self._sent[delivery_id]
        return self._submit(ref=sent.ref, url=sent.url, body=sent.body, rule=None)

    def _submit(self, *, ref: str, url: str, body: dict[str, Any], rule: FaultRule | None) -> str:
        loop = asyncio.get_running_loop()
        delivery = _Delivery(id=f"d{next(self._ids)}", ref=ref, url=url, body=dict(body), fault=rule)
        with self._lock:
            self._sent[delivery.id] = Sent(ref=ref, url=url, body=dict(body))
            while len(self._sent) > ATTEMPTS_KEPT:
                self._sent.popitem(last=False)
        if rule is not None and rule.kind == "bad_signature":
            for name in self.signature_fields:
                if name in delivery.body or name == self.signature_fields[0]:
                    delivery.body[name] = corrupt_signature(delivery.body.get(name))
        # Whatever was held back goes out right after this delivery's first attempt.
        delivery.to_release, self._held = self._held, []
        if rule is not None and rule.kind == "out_of_order":
            delivery.release = asyncio.Event()
            self._held.append(delivery)
        self._unfinished[delivery.id] = delivery
        self._start(loop, delivery)
        logger.info(
            "notify %s for %s to %s scheduled (fault=%s)", delivery.id, ref, _without_query(url), rule and rule.kind
        )
        return delivery.id

    def _start(self, loop: asyncio.AbstractEventLoop, delivery: _Delivery) -> None:
        task = loop.create_task(self._run(delivery), name=f"notify-{delivery.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def resume(self) -> int:
        """After a crash (the event loop died, no clean shutdown): send every unfinished delivery again.

        Each starts its schedule afresh, without its fault. Returns how many were resumed.
        """
        loop = asyncio.get_running_loop()
        self._tasks = {task for task in self._tasks if task.get_loop() is loop}
        self._held = []
        resumed = list(self._unfinished.values())
        for delivery in resumed:
            fresh = _Delivery(id=delivery.id, ref=delivery.ref, url=delivery.url, body=delivery.body, fault=None)
            self._unfinished[delivery.id] = fresh
            self._start(loop, fresh)
        if resumed:
            logger.info("resumed %d unfinished notifications", len(resumed))
        return len(resumed)

    def attempts(self, ref: str | None = None) -> list[Attempt]:
        """Attempts so far, oldest first, optionally only those for one order ref."""
        with self._lock:
            return [a for a in self._attempts if ref is None or a.ref == ref]

    def in_flight(self) -> int:
        """Number of deliveries that are still waiting or sending."""
        return sum(1 for task in self._tasks if not task.done())

    async def drain(self, timeout_s: float) -> None:
        """Wait until every delivery finished or gave up; raises TimeoutError after ``timeout_s``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while pending := {task for task in self._tasks if not task.done()}:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{len(pending)} notification deliveries still in flight")
            await asyncio.wait(pending, timeout=remaining)

    def reset(self) -> None:
        """Cancel every delivery and forget every attempt."""
        for task in list(self._tasks):
            task.cancel()
        self._held = []
        self._unfinished.clear()
        with self._lock:
            self._attempts.clear()
            self._sent.clear()

    async def aclose(self) -> None:
        """Cancel deliveries and close the HTTP client (server shutdown)."""
        tasks = list(self._tasks)
        self.reset()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _run(self, delivery: _Delivery) -> None:
        loop = asyncio.get_running_loop()
        rule = delivery.fault
        kind = rule.kind if rule else None
        try:
            if delivery.release is not None and rule is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(delivery.release.wait(), rule.delay_s * self.time_scale)
            self._http_client()  # built first (tens of ms for its TLS context), so it never eats into a wait
            start = loop.time()
            if kind == "delay" and rule is not None:
                start += rule.delay_s * self.time_scale
            if kind == "drop":
                self._record(delivery, 1, None, "", "dropped by fault injection", acked=False)
                logger.warning("notify %s for %s dropped by fault injection", delivery.id, delivery.ref)
                self._unfinished.pop(delivery.id, None)
                return
            for number, offset in enumerate(self.schedule, start=1):
                wait = start + offset * self.time_scale - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                acked = await self._attempt(delivery, number, copies=2 if kind == "duplicate" else 1)
                if number == 1:
                    self._release_held(delivery)
                if acked:
                    self._unfinished.pop(delivery.id, None)
                    return
            logger.warning("notify %s for %s gave up after %d attempts", delivery.id, delivery.ref, number)
            self._unfinished.pop(delivery.id, None)
        finally:
            self._release_held(delivery)

    @staticmethod
    def _release_held(delivery: _Delivery) -> None:
        for held in delivery.to_release:
            if held.release is not None:
                held.release.set()
        delivery.to_release = []

    async def _attempt(self, delivery: _Delivery, number: int, copies: int) -> bool:
        acked = False
        for _ in range(copies):
            acked = await self._post(delivery, number) or acked
        return acked

    async def _post(self, delivery: _Delivery, number: int) -> bool:
        client = self._http_client()
        content = json.dumps(delivery.body, ensure_ascii=False, separators=(",", ":")).encode()
        sent_at = time.time()  # an attempt is dated when it is sent: the schedule is about sending
        try:
            response = await client.post(delivery.url, content=content, headers={"content-type": "application/json"})
        except httpx.HTTPError as exc:
            self._record(delivery, number, None, "", f"{type(exc).__name__}: {exc}", acked=False, at=sent_at)
            return False
        text = response.text
        acked = self.is_ack(text)
        self._record(delivery, number, response.status_code, text, None, acked=acked, at=sent_at)
        return acked

    def _record(
        self,
        delivery: _Delivery,
        number: int,
        status_code: int | None,
        response_body: str,
        error: str | None,
        *,
        acked: bool,
        at: float | None = None,
    ) -> None:
        attempt = Attempt(
            delivery_id=delivery.id,
            ref=delivery.ref,
            url=delivery.url,
            attempt=number,
            at=time.time() if at is None else at,
            body=dict(delivery.body),
            status_code=status_code,
            response_body=response_body[:RESPONSE_BODY_LIMIT],
            error=error,
            acked=acked,
            fault=delivery.fault.kind if delivery.fault else None,
        )
        with self._lock:
            self._attempts.append(attempt)
        logger.info(
            "notify %s attempt %d for %s -> %s status=%s acked=%s error=%s",
            delivery.id,
            number,
            delivery.ref,
            _without_query(delivery.url),
            status_code,
            acked,
            error,
        )

    def _http_client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = httpx.AsyncClient(timeout=self.timeout_s)
            # httpx would announce itself ("python-httpx/…"); the providers document no
            # User-Agent for their notifies, so none is sent rather than one naming this stack.
            del self._client.headers["user-agent"]
            self._client_loop = loop
        return self._client


def corrupt_signature(value: Any) -> str:
    """A signature that no verifier accepts, still shaped like the original (same length)."""
    text = str(value) if value is not None else ""
    if not text:
        return "0" * 32
    last = "1" if text[-1] in "0" else "0"
    return text[:-1] + last
