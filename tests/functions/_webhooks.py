"""Webhook handler tests: the template's queues and rule on moto, and helpers to drive them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from paygate_local.sqs_source import sqs_record
from tests.support.functions import BUS, REGION, AwsAccount, Merchant, api_event, body_of, invoke
from tests.support.template import template
from tests.support.webhook_receiver import Receiver, running_receiver

SECRETS_PREFIX = "paygate/test/webhooks/"


def _clear() -> None:
    from paygate import deps

    deps.clear_caches()


@dataclass
class Webhooks:
    events_queue_url: str
    deliveries_queue_url: str
    dlq_url: str

    def create_endpoint(self, merchant: Merchant, url: str, event_types: list[str]) -> dict[str, Any]:
        result = invoke(
            "webhook_endpoints",
            api_event(
                "POST",
                "/webhook-endpoints",
                body={"url": url, "event_types": event_types},
                headers={"Authorization": merchant.auth},
            ),
        )
        assert result["statusCode"] == 201, result["body"]
        created: dict[str, Any] = body_of(result)
        return created

    def records(self, queue_url: str, *, at_least: int = 1) -> list[dict[str, Any]]:
        """Lambda SQS records of what is visible on the queue now (received: in flight)."""
        sqs = boto3.client("sqs", region_name=REGION)
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        records: list[dict[str, Any]] = []
        for _ in range(20):
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
            ).get("Messages", [])
            records.extend(sqs_record(m, arn) for m in messages)
            if len(records) >= at_least and not messages:
                break
        return records

    def dispatch(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return invoke("webhook_dispatcher", {"Records": records})

    def failed_ids(self, result: dict[str, Any]) -> set[str]:
        return {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}

    def deliveries(self, merchant: Merchant, endpoint_id: str, **query: str) -> dict[str, Any]:
        result = invoke(
            "webhook_endpoints",
            api_event(
                "GET",
                f"/webhook-endpoints/{endpoint_id}/deliveries",
                resource="/webhook-endpoints/{endpoint_id}/deliveries",
                headers={"Authorization": merchant.auth},
                path_params={"endpoint_id": endpoint_id},
                query=query or None,
            ),
        )
        assert result["statusCode"] == 200, result["body"]
        page: dict[str, Any] = body_of(result)
        return page


def _queue(sqs: Any, name: str, attributes: dict[str, str]) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


@pytest.fixture
def webhooks(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhooks]:
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    dlq_url, dlq_arn = _queue(sqs, "webhook-dlq", {})
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    events_url, events_arn = _queue(sqs, "webhook-events", {"RedrivePolicy": redrive})
    deliveries_url, _ = _queue(sqs, "webhook-deliveries", {"RedrivePolicy": redrive})
    pattern = template()["Resources"]["WebhookEventsRule"]["Properties"]["EventPattern"]
    events.put_rule(Name="webhooks", EventBusName=BUS, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="webhooks", EventBusName=BUS, Targets=[{"Id": "q", "Arn": events_arn}])
    for name, value in {
        "WEBHOOK_DELIVERIES_QUEUE_URL": deliveries_url,
        "WEBHOOK_SECRETS_PREFIX": SECRETS_PREFIX,
        "WEBHOOK_ALLOW_INSECURE_URLS": "true",  # the receiver listens on 127.0.0.1
        "WEBHOOK_MAX_ATTEMPTS": "3",
        "WEBHOOK_RETRY_BASE_S": "60",
        "WEBHOOK_TIMEOUT_S": "5",
    }.items():
        monkeypatch.setenv(name, value)
    _clear()
    yield Webhooks(events_url, deliveries_url, dlq_url)
    _clear()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running
