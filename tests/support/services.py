"""Service-level test doubles: orders, console and history tables on moto, a recording publisher, a scripted upstream.

The domain services run against the real store (the template's table definition on moto) and
the real provider adapters over an httpx MockTransport, so a test sees exactly which requests
were sent and what the ledger holds afterwards.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx
from moto import mock_aws

from paygate.credentials import BeeCloudCredentials, BeilyPayCredentials
from paygate.events import DomainEvent
from paygate.models import App, OrderKind
from paygate.providers import beilypay
from paygate.providers.beecloud import BeeCloudClient
from paygate.providers.beilypay import BeilyPayClient
from paygate.store.history import OrderHistoryStore
from paygate.store.transfers import Transfer
from tests.support.template import table_definitions, table_name_in_tests

NOW_MS = 1_795_599_000_000  # 2026-11-25 in China
LEASE_MS = 30_000
APP = App(
    app_id="app_0123456789abcdef",
    name="shop",
    key_hash="unused",
    beecloud_app_id="bc-app",
    beilypay_app_id=1183601355,
    beilypay_merchant_id=3,
    created_at_ms=NOW_MS,
)
BEECLOUD_CREDS = BeeCloudCredentials(app_id="bc-app", app_secret="bc-secret", master_secret="bc-master")
BEILYPAY_CREDS = BeilyPayCredentials(app_id=1183601355, merchant_id=3, secret="bp-secret")

Answer = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]


@contextmanager
def orders_table() -> Iterator[Any]:
    """A moto DynamoDB client with the template's orders table named `orders`."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="orders", **table_definitions()["OrdersTable"])
        yield client


@contextmanager
def console_table() -> Iterator[Any]:
    """A moto DynamoDB client with the template's console table named `console`."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(TableName="console", **table_definitions()["ConsoleTable"])
        yield client


HISTORY_TABLE = table_name_in_tests("OrderHistoryTable")


def order_history_store(clock: Callable[[], int] = lambda: NOW_MS) -> OrderHistoryStore:
    """The template's order history table, created in the moto account a fixture already opened."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(TableName=HISTORY_TABLE, **table_definitions()["OrderHistoryTable"])
    return OrderHistoryStore(client, HISTORY_TABLE, clock=clock)


def ticking_clock(start_ms: int = NOW_MS) -> Callable[[], int]:
    """One millisecond later at every call: every fact a test records gets a time of its own."""
    ticks = itertools.count(start_ms)
    return lambda: next(ticks)


class RecordingPublisher:
    """Collects published events instead of sending them to EventBridge."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def publish(self, *events: DomainEvent) -> None:
        self.events.extend(events)

    @property
    def detail_types(self) -> list[str]:
        return [event.detail_type for event in self.events]


@dataclass
class Upstream:
    """A provider behind an httpx MockTransport: answers by path, records every request it receives.

    `answers[path]` is a JSON object, a function of the request body, or a list of either taken
    in turn (the last one repeats). `break_next` makes the next request raise that exception
    after it was received: the provider may have acted on it, the caller cannot know.
    """

    answers: dict[str, Answer | list[Answer]]
    requests: list[httpx.Request] = field(default_factory=list)
    break_next: Exception | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.break_next is not None:
            error, self.break_next = self.break_next, None
            raise error
        answer = self.answers[request.url.path]
        if isinstance(answer, list):
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        body = json.loads(request.content) if request.content else {}
        return httpx.Response(200, json=answer(body) if callable(answer) else answer)

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]

    def beecloud(self) -> BeeCloudClient:
        return BeeCloudClient("http://beecloud.test", self._client(), clock=lambda: NOW_MS / 1000, query_retries=0)

    def beilypay(self) -> BeilyPayClient:
        return BeilyPayClient("http://beilypay.test", self._client(), query_retries=0)

    def _client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))


BEECLOUD_OK = {"result_code": 0, "result_msg": "OK", "err_detail": ""}


def beecloud_bill_answer(body: dict[str, Any]) -> dict[str, Any]:
    """A WX_NATIVE bill answer for whatever bill was asked for."""
    return {**BEECLOUD_OK, "id": f"bc-{body['bill_no']}", "code_url": f"weixin://wxpay/{body['bill_no']}"}


def _signed_data(data: dict[str, Any]) -> dict[str, Any]:
    """BeilyPay signs every order answer's `data` with the merchant's secret."""
    return {**data, "sign": beilypay.sign(data, BEILYPAY_CREDS.secret)}


def beilypay_trans_answer(body: dict[str, Any]) -> dict[str, Any]:
    """BeilyPay accepted the payout, pending (status 1)."""
    data = {"orderNo": "BP-1", "outOrderNo": body["outOrderNo"], "payAmount": body["payAmount"], "status": 1}
    return {"code": 200, "msg": "success", "data": _signed_data(data)}


def beilypay_payment_answer(body: dict[str, Any]) -> dict[str, Any]:
    """BeilyPay created the collection."""
    data = {
        "orderNo": "BP-2",
        "outOrderNo": body["outOrderNo"],
        "payAmount": body["payAmount"],
        "payUrl": "https://pay.beilypay.test/BP-2",
    }
    return {"code": 200, "msg": "success", "data": _signed_data(data)}


class RecordingStarter:
    """Stands in for the PollPending starter; `fail` makes starting raise (Step Functions down)."""

    def __init__(self) -> None:
        self.started: list[tuple[OrderKind, str]] = []
        self.fail: Exception | None = None

    def start(self, kind: OrderKind, transfer: Transfer) -> bool:
        if self.fail is not None:
            raise self.fail
        self.started.append((kind, transfer.out_order_no))
        return True


def no_sleep(seconds: float) -> None:
    """A repeat that finds a lease held would sleep: these tests must never get there."""
    raise AssertionError(f"waited {seconds} s on a lease that should have been released")
