"""Shared pieces of the reliability suite: the figures, counting HTTP clients, the invariant checks.

Every scenario drives the local stack over real sockets, records what it sent and injected in
FIGURES, and checks its invariant against the ledger (the API), the provider (the sandbox's
control API) and the event log. A violation is counted (lost / doubled / over-refunded / leaked)
and then asserted to be zero, so `make reliability` can print the totals of a run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from paygate_local.stack import LocalStack, StackInfo
from paygate_local.workers import KillPoint, arm_kill_point, fired_kill_points
from tests.support import polling
from tests.support.clock import today_in_china

FIGURES_FILE = Path(__file__).resolve().parents[2] / ".local" / "reliability-figures.json"

LEASE_MS = 10_000  # the suite's PROVIDER_LEASE_MS: how long a killed worker's call blocks a retry
POLL_DEADLINE_S = 30  # the suite's PollDeadlineSeconds: a payout BeilyPay forgot is unknown after it


@dataclass
class Figures:
    """What a run did and what it found; thread-safe counters."""

    requests_sent: int = 0
    faults_injected: int = 0
    bad_inputs_tried: int = 0
    orders_checked: int = 0
    lost: int = 0
    doubled: int = 0
    over_refunded: int = 0
    leaked_secrets: int = 0
    scenarios: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def violation(self, kind: str, what: str) -> None:
        """kind: lost | doubled | over_refunded | leaked_secrets."""
        with self._lock:
            setattr(self, kind, getattr(self, kind) + 1)
            self.findings.append(f"{kind}: {what}")

    def checkpoint(self) -> int:
        with self._lock:
            return len(self.findings)

    def assert_clean(self, checkpoint: int) -> None:
        """No invariant was violated since the checkpoint (lost = doubled = over-refunded = leaked = 0)."""
        with self._lock:
            new = self.findings[checkpoint:]
        assert new == [], new

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests sent": self.requests_sent,
                "faults injected": self.faults_injected,
                "bad inputs tried": self.bad_inputs_tried,
                "orders checked": self.orders_checked,
                "lost": self.lost,
                "doubled": self.doubled,
                "over-refunded": self.over_refunded,
                "leaked secrets": self.leaked_secrets,
            }


FIGURES = Figures()


def _count_request(_request: httpx.Request) -> None:
    FIGURES.add("requests_sent")


def counting_client(base_url: str = "", **kwargs: Any) -> httpx.Client:
    """An httpx client whose every request counts in FIGURES.requests_sent."""
    kwargs.setdefault("timeout", 40)
    kwargs.setdefault("limits", httpx.Limits(max_connections=64, max_keepalive_connections=0))
    return httpx.Client(base_url=base_url, event_hooks={"request": [_count_request]}, **kwargs)


def eventually[T](probe: Callable[[], T | None], *, timeout: float = 30.0, interval: float = 0.1) -> T:
    """Poll until probe returns something truthy: the reliability suite waits longer, on a busier stack."""
    return polling.eventually(probe, timeout=timeout, interval=interval)


# A scenario creates its refunds within this long of taking the date (see tests/support/clock.py).
SCENARIO_MARGIN_S = 90.0


def today() -> str:
    """Today's China date for refund numbers, still today for SCENARIO_MARGIN_S (waits out midnight).

    Take it once per scenario and keep the numbers: a refund looked up by a date taken again
    later could miss the one that was created.
    """
    return today_in_china(margin_s=SCENARIO_MARGIN_S)


def bill_body(bill_no: str, channel: str = "WX_NATIVE", total_fee: int = 100, **extra: Any) -> dict[str, Any]:
    body = {"bill_no": bill_no, "channel": channel, "total_fee": total_fee, "title": "白开水", **extra}
    if channel in {"ALI_WEB", "ALI_QRCODE", "UN_WEB"}:
        body.setdefault("return_url", "https://shop.example/return")
    return body


def payout_body(out_order_no: str, amount: int = 50_000, **extra: Any) -> dict[str, Any]:
    return {
        "out_order_no": out_order_no,
        "amount": amount,
        "account_type": "Card",
        "account": PAYOUT_ACCOUNT,
        "account_owner": "Asha Rao",
        "bank_code": "SBIN",
        "ifsc": "SBIN0001234",
        "address": "12 MG Road, Bengaluru",
        "email": PAYOUT_EMAIL,
        "mobile": PAYOUT_MOBILE,
        **extra,
    }


# Personal data the suite sends; none of it may appear in full in any log line.
PAYOUT_ACCOUNT = "918273645501"
PAYOUT_EMAIL = "asha.rao.reliability@example.in"
PAYOUT_MOBILE = "9876501234"


def assert_error_shape(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """The one error JSON shape, a stable code, never a stack trace."""
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert "Traceback" not in response.text, response.text[:500]
    assert 'File "' not in response.text, response.text[:500]
    body = response.json()
    assert isinstance(body, dict), response.text[:500]
    assert isinstance(body.get("error"), dict), response.text[:500]
    assert isinstance(body["error"].get("code"), str), response.text[:500]
    assert body["error"]["code"], response.text[:500]
    assert isinstance(body["error"].get("message"), str), response.text[:500]
    return body["error"]


@dataclass
class Merchant:
    """A tenant: its paygate app, its API client and its provider accounts (with their secrets)."""

    name: str
    app_id: str
    api_key: str
    http: httpx.Client
    beecloud: dict[str, str]
    beilypay: dict[str, Any]
    checkout_secret: str = ""

    @property
    def beecloud_app_id(self) -> str:
        return self.beecloud["app_id"]


@dataclass
class Gateway:
    """The stack under test plus the suite's view of it (secrets handed out, logs captured)."""

    stack: LocalStack
    info: StackInfo
    logs_dir: Path
    secrets: set[str] = field(default_factory=set)  # every key/secret/PII value handed to the stack
    runner_lines: list[str] = field(default_factory=list)  # in-process loggers: runner, sandboxes
    merchants: list[Merchant] = field(default_factory=list)
    kill_dir: Path | None = None  # the workers' kill points (paygate_local.workers.arm_kill_point)

    def __post_init__(self) -> None:
        self.beecloud = counting_client(self.info.beecloud_url, timeout=15)
        self.beilypay = counting_client(self.info.beilypay_url, timeout=15)
        self.anonymous = counting_client(self.info.api_url)

    def merchant(self, name: str = "shop") -> Merchant:
        """A fresh tenant with its own API key and provider accounts."""
        app = self.stack.create_app(name)
        self.secrets |= {
            app["api_key"],
            app["beecloud"]["app_secret"],
            app["beecloud"]["master_secret"],
            str(app["beilypay"]["secret"]),
            str(app["checkout_secret"]),
        }
        merchant = Merchant(
            name=name,
            app_id=app["app_id"],
            api_key=app["api_key"],
            http=counting_client(self.info.api_url, headers={"Authorization": f"Bearer {app['api_key']}"}),
            beecloud=app["beecloud"],
            beilypay=app["beilypay"],
            checkout_secret=app["checkout_secret"],
        )
        self.merchants.append(merchant)
        return merchant

    # -- the event log ----------------------------------------------------------------------------

    def events(self, detail_type: str | None = None, app_id: str | None = None) -> list[dict[str, Any]]:
        params = {"detail_type": detail_type} if detail_type else {}
        events = httpx.get(self.info.events_url, params=params, timeout=15).json()
        return [e for e in events if app_id is None or e["detail"].get("app_id") == app_id]

    # -- sandbox control APIs ---------------------------------------------------------------------

    def fault(self, sandbox: str, **rule: Any) -> dict[str, Any]:
        """Inject one fault rule (counted `count` times in FIGURES.faults_injected)."""
        client = self.beecloud if sandbox == "beecloud" else self.beilypay
        response = client.post("/_sandbox/faults", json=rule)
        assert response.status_code == 201, response.text
        if not (rule.get("kind") == "latency" and rule.get("delay_s") == 0):  # the call counter is no fault
            FIGURES.add("faults_injected", int(rule.get("count", 1)))
        return dict(response.json())

    def clear_faults(self, sandbox: str) -> None:
        client = self.beecloud if sandbox == "beecloud" else self.beilypay
        client.delete("/_sandbox/faults").raise_for_status()

    def kill_worker(self, point: KillPoint, path: str, *, method: str = "POST", count: int = 1) -> None:
        """The next `count` function workers calling the provider at `path` die (SIGKILL) at `point`."""
        assert self.kill_dir is not None
        for _ in range(count):
            arm_kill_point(self.kill_dir, point, path, method=method)
        FIGURES.add("faults_injected", count)

    def kills_fired(self) -> int:
        assert self.kill_dir is not None
        return len(fired_kill_points(self.kill_dir))

    def kills_pending(self) -> int:
        assert self.kill_dir is not None
        return len(list(self.kill_dir.glob("*.json")))

    def restart_sandbox(self, sandbox: Literal["beecloud", "beilypay"], *, keep_state: bool) -> None:
        """Crash a provider sandbox and bring it back, with its orders or without (one fault)."""
        self.stack.restart_sandbox(sandbox, keep_state=keep_state)
        FIGURES.add("faults_injected")

    def reconcile(self, merchant: Merchant) -> dict[str, Any]:
        """`paygate.apps.admin reconcile` for one app over the last two days, as an operator runs it.

        Returns the full JSON report plus its exit code (0 clean, 1 errors, 3 mismatches).
        """
        out = self.logs_dir.parent / "reconciliation" / f"{merchant.name}-{time.monotonic_ns()}"
        done = subprocess.run(
            [sys.executable, "-m", "paygate.apps.admin", "reconcile", "--app-id", merchant.app_id, "--out", str(out)],
            env=self.stack.admin_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode in (0, 1, 3), done.stderr[-2000:]
        report: dict[str, Any] = json.loads(out.with_name(out.name + ".json").read_text(encoding="utf-8"))
        return {**report, "exit_code": done.returncode}

    def provider_calls(self, sandbox: str, path: str) -> ProviderCallCounter:
        return ProviderCallCounter(self, sandbox, path)

    def beecloud_bill(self, merchant: Merchant, bill_no: str) -> dict[str, Any] | None:
        response = self.beecloud.get(f"/_sandbox/bills/{merchant.beecloud_app_id}/{bill_no}")
        return dict(response.json()) if response.status_code == 200 else None

    def beecloud_notifications(self, ref: str) -> list[dict[str, Any]]:
        return list(self.beecloud.get("/_sandbox/notifications", params={"ref": ref}).json()["attempts"])

    def beilypay_orders(self, merchant: Merchant, out_order_no: str) -> list[dict[str, Any]]:
        params = {"app_id": str(merchant.beilypay["app_id"]), "out_order_no": out_order_no}
        return list(self.beilypay.get("/_sandbox/orders", params=params).json()["orders"])

    # -- logs -------------------------------------------------------------------------------------

    def function_lines(self) -> list[tuple[str, str]]:
        """(function name, line) for every line the function workers wrote so far."""
        path = self.logs_dir / "functions.log"
        if not path.exists():
            return []
        lines = []
        for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
            name, _, line = raw.partition("\t")
            lines.append((name, line))
        return lines

    def security_events(self) -> tuple[list[dict[str, Any]], int]:
        """The callback's `security_event` log records and the CallbackRejected metric total so far."""
        records, rejected_metric = [], 0
        for _name, line in self.function_lines():
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("security_event") is True:
                records.append(record)
            if "_aws" in record and "CallbackRejected" in record:
                value = record["CallbackRejected"]
                rejected_metric += int(sum(value) if isinstance(value, list) else value)
        return records, rejected_metric


class ProviderCallCounter:
    """Counts provider calls on a path prefix with the sandbox's own fault plan and no code in it.

    A zero-second `latency` rule is consumed once per matching request and changes nothing else;
    what is left of its count says how many requests reached the provider.
    """

    BUDGET = 100_000

    def __init__(self, gateway: Gateway, sandbox: str, path: str) -> None:
        self._client = gateway.beecloud if sandbox == "beecloud" else gateway.beilypay
        self._path = path
        rule = gateway.fault(sandbox, scope="request", kind="latency", path=path, delay_s=0, count=self.BUDGET)
        self._id = rule["id"]

    def count(self) -> int:
        rules = self._client.get("/_sandbox/faults").json()["faults"]
        left = next((r["count"] for r in rules if r["id"] == self._id), 0)
        return self.BUDGET - int(left)


def distinct_event_ids(events: Iterable[dict[str, Any]]) -> Counter[str]:
    return Counter(e["detail"]["event_id"] for e in events)


def check_one_event(gateway: Gateway, merchant: Merchant, detail_type: str, key: str, value: str) -> None:
    """Exactly one event id for this order's final state (copies of the same id are at-least-once).

    The event log is fed asynchronously (EventBridge -> SQS -> log), so wait a bounded time for it.
    """

    def matching() -> list[dict[str, Any]]:
        return [e for e in gateway.events(detail_type, merchant.app_id) if e["detail"]["data"].get(key) == value]

    try:
        events = eventually(matching, timeout=15, interval=0.2)
    except AssertionError:
        events = []
    ids = distinct_event_ids(events)
    if len(ids) == 0:
        FIGURES.violation("lost", f"no {detail_type} event for {key}={value}")
    elif len(ids) > 1:
        FIGURES.violation("doubled", f"{len(ids)} distinct {detail_type} events for {key}={value}")
