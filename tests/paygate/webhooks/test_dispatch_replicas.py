"""Fan-out and delivery read the endpoints from one replica: whichever it is, they see every change at once.

The dispatcher and the endpoint service run on the strict moto table, with a recording queue, an
in-memory secret store and a recording sender; each case runs with the reads pinned to each replica.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from paygate.credentials import SigningSecret, SigningSecrets
from paygate.settings import WebhookSettings
from paygate.store.items import to_item
from paygate.webhooks.dispatch import Dispatcher, Outcome
from paygate.webhooks.endpoints import EndpointService
from paygate.webhooks.models import DeliveryTask, SendResult, WebhookEndpoint
from paygate.webhooks.requests import CreateWebhookEndpointRequest
from paygate.webhooks.store import REPLICAS, WebhooksStore, endpoint_sk, primary_pk

TABLE = "webhooks"
NOW = 1_800_000_000_000


class Queue:
    def __init__(self) -> None:
        self.sent: list[DeliveryTask] = []

    def send(self, tasks: list[DeliveryTask]) -> None:
        self.sent.extend(tasks)


class Secrets:
    def __init__(self) -> None:
        self.stored: dict[tuple[str, str], str] = {}

    def create(self, app_id: str, endpoint_id: str, secret: str) -> None:
        self.stored[(app_id, endpoint_id)] = secret

    def delete(self, app_id: str, endpoint_id: str) -> None:
        self.stored.pop((app_id, endpoint_id), None)

    def load(self, app_id: str, endpoint_id: str) -> SigningSecrets:
        return SigningSecrets(signing_secrets=[SigningSecret(secret=self.stored.get((app_id, endpoint_id), "whsec_x"))])


class Sender:
    def __init__(self) -> None:
        self.urls: list[str] = []

    async def __call__(self, url: str, body: bytes, headers: dict[str, str], **_: Any) -> SendResult:
        self.urls.append(url)
        return SendResult(204, 1, None)


class World:
    def __init__(self, db: Any, replica: int) -> None:
        self.db = db
        self.queue, self.secrets, self.sender = Queue(), Secrets(), Sender()
        settings = WebhookSettings(WEBHOOKS_TABLE=TABLE)
        # The API and the dispatcher are different containers: each its own store.
        api_store = WebhooksStore(db, TABLE, clock=lambda: NOW)
        self.store = WebhooksStore(db, TABLE, clock=lambda: NOW, pick_replica=lambda: replica)
        self.endpoints = EndpointService(api_store, self.secrets, self.queue, settings, clock=lambda: NOW)
        self.dispatcher = Dispatcher(self.store, self.queue, self.secrets, settings, self.sender, clock=lambda: NOW)
        self.events = 0

    def create(self, app_id: str, path: str, event_types: list[str]) -> WebhookEndpoint:
        request = CreateWebhookEndpointRequest(url=f"https://shop.example.com{path}", event_types=event_types)
        endpoint, _secret = self.endpoints.create(app_id, request)
        return endpoint

    def event(self, app_id: str, event_type: str = "bill.succeeded") -> list[DeliveryTask]:
        """Fan one new event out; the tasks it queued."""
        self.events += 1
        before = len(self.queue.sent)
        detail = {"event_id": f"evt-{app_id}-{self.events}", "type": event_type, "app_id": app_id, "data": {}}
        self.dispatcher.fan_out(detail)
        return self.queue.sent[before:]

    def deliver(self, task: DeliveryTask) -> Outcome:
        return asyncio.run(self.dispatcher.deliver(task, 1)).outcome


@pytest.fixture(params=range(REPLICAS), ids=lambda k: f"replica{k}")
def world(request, webhooks_db) -> World:
    return World(webhooks_db, request.param)


def test_an_endpoint_created_just_before_the_apps_first_event_gets_it(world):
    endpoint = world.create("app_first", "/hooks", ["bill.*"])

    [task] = world.event("app_first")

    assert task.endpoint_id == endpoint.endpoint_id
    assert world.deliver(task) is Outcome.DELIVERED
    assert world.sender.urls == [endpoint.url]


def test_an_endpoint_created_between_two_events_gets_the_second(world):
    first = world.create("app_more", "/first", ["*"])
    assert [t.endpoint_id for t in world.event("app_more")] == [first.endpoint_id]

    second = world.create("app_more", "/second", ["*"])
    tasks = world.event("app_more")

    assert sorted(t.endpoint_id for t in tasks) == sorted([first.endpoint_id, second.endpoint_id])
    assert [world.deliver(t) for t in tasks] == [Outcome.DELIVERED, Outcome.DELIVERED]


def test_a_deleted_endpoint_gets_nothing_more(world):
    kept = world.create("app_del", "/kept", ["*"])
    gone = world.create("app_del", "/gone", ["*"])
    queued = world.event("app_del")

    world.endpoints.delete("app_del", gone.endpoint_id)

    assert [t.endpoint_id for t in world.event("app_del")] == [kept.endpoint_id]
    outcomes = {t.endpoint_id: world.deliver(t) for t in queued}  # queued before the delete
    assert outcomes == {kept.endpoint_id: Outcome.DELIVERED, gone.endpoint_id: Outcome.DROPPED}
    assert gone.url not in world.sender.urls


def test_an_endpoint_gets_only_the_types_it_subscribes_to(world):
    world.create("app_types", "/payouts", ["payout.*"])

    assert world.event("app_types", "bill.succeeded") == []
    assert len(world.event("app_types", "payout.failed")) == 1


def test_an_endpoint_stored_before_replicas_still_gets_events(world):
    legacy = WebhookEndpoint(
        app_id="app_legacy",
        endpoint_id="we_" + "c" * 24,
        url="https://shop.example.com/legacy",
        event_types=["*"],
        created_at_ms=NOW - 86_400_000,
    )
    item = {"pk": primary_pk("app_legacy"), "sk": endpoint_sk(legacy.endpoint_id), **legacy.model_dump()}
    world.db.put_item(TableName=TABLE, Item=to_item(item))

    [task] = world.event("app_legacy")
    assert task.endpoint_id == legacy.endpoint_id
    assert world.deliver(task) is Outcome.DELIVERED
    [again] = world.event("app_legacy")  # now from the replica it was copied to
    assert world.deliver(again) is Outcome.DELIVERED
    assert world.sender.urls == [legacy.url, legacy.url]
