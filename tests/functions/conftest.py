"""Handlers with their real event shapes, against moto (in-process) and the real BeeCloud sandbox.

Each test gets a fresh moto account with the template's tables and bus, and a catch-all rule
that copies every published event into an SQS queue the test can read.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from sandbox.beecloud.app import BeeCloudConfig, create_app
from sandbox.beilypay.app import create_app as create_beilypay_app
from sandbox.beilypay.config import BeilyPayConfig
from sandbox.common.server import RunningServer, serve_in_thread
from tests.support.functions import (
    BEILYPAY_BALANCE,
    BUS,
    POLL_MACHINE,
    REGION,
    STAGE,
    AwsAccount,
    BeilyPayMerchant,
    FollowUpQueue,
    Merchant,
    clear_container_caches,
)
from tests.support.template import ROOT, table_definitions, table_name_in_tests

# moto's in-process DynamoDB is not thread-safe (an update deep-copies an item another thread may
# be changing). DynamoDB applies each request atomically, so the tests' races run against that:
# one request at a time, in whatever order the threads reach it.
_DYNAMODB_LOCK = threading.RLock()
_ITEM_OPERATIONS = (
    "get_item", "put_item", "update_item", "delete_item", "query", "scan", "batch_get_item",
    "batch_write_item", "transact_get_items", "transact_write_items",
)  # fmt: skip


def _serialise_moto_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in _ITEM_OPERATIONS:
        original = getattr(DynamoDBBackend, name)

        def locked(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _DYNAMODB_LOCK:
                return __original(*args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, beecloud_sandbox: RunningServer) -> Iterator[AwsAccount]:
    env = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PAYGATE_STAGE": STAGE,
        "ORDERS_TABLE": "orders",
        "APPS_TABLE": "apps",
        "IDEMPOTENCY_TABLE": "idempotency",
        "WEBHOOKS_TABLE": "webhooks",
        "CONSOLE_TABLE": "console",
        "ORDER_HISTORY_TABLE": "orderhistory",
        "EVENT_BUS_NAME": BUS,
        "APP_SECRETS_PREFIX": f"paygate/{STAGE}/apps/",
        "BEECLOUD_BASE_URL": beecloud_sandbox.url,
        "BEILYPAY_BASE_URL": "http://127.0.0.1:9",
        "POWERTOOLS_SERVICE_NAME": "paygate-test",
        "POWERTOOLS_METRICS_NAMESPACE": "PaygateTest",
        "PROVIDER_READ_TIMEOUT_S": "3",
    }
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    clear_container_caches()
    _serialise_moto_dynamodb(monkeypatch)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for logical_id, args in table_definitions().items():
            dynamodb.create_table(TableName=table_name_in_tests(logical_id), **args)
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        events.create_event_bus(Name=BUS)
        queue_url = sqs.create_queue(QueueName="all-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": ["paygate"]}))
        events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}])
        yield AwsAccount(events_queue_url=queue_url)
    clear_container_caches()


@pytest.fixture(scope="session")
def beecloud_sandbox() -> Iterator[RunningServer]:
    server = serve_in_thread(create_app(BeeCloudConfig(time_scale=0.001, refund_delay_s=0.5)))
    yield server
    server.stop()


@pytest.fixture
def merchant(aws: AwsAccount, beecloud_sandbox: RunningServer) -> Merchant:
    """A paygate app with its own fresh BeeCloud app in the sandbox."""
    from paygate.apps.admin import BeeCloudAccount
    from paygate.apps.admin import create_app as create_paygate_app

    account = BeeCloudAccount(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))
    app, api_key, checkout_secret = create_paygate_app("shop", beecloud=account, beilypay=None)
    response = httpx.post(
        f"{beecloud_sandbox.url}/_sandbox/apps",
        json={
            "app_id": account.app_id,
            "app_secret": account.app_secret,
            "master_secret": account.master_secret,
            # Handler-level tests feed webhooks to the callback handler themselves.
            "webhook_url": "http://127.0.0.1:9/unused",
        },
    )
    assert response.status_code in (200, 201), response.text
    return Merchant(
        app.app_id, api_key, account.app_id, account.app_secret, account.master_secret or "", checkout_secret
    )


@pytest.fixture
def clean_faults(beecloud_sandbox: RunningServer) -> Iterator[str]:
    yield beecloud_sandbox.url
    httpx.delete(f"{beecloud_sandbox.url}/_sandbox/faults")


@pytest.fixture(scope="session")
def beilypay_sandbox() -> Iterator[RunningServer]:
    # Payouts complete after payout_delay_s * time_scale = 0.05 s (accounts ending 9999 never do).
    server = serve_in_thread(create_beilypay_app(BeilyPayConfig(time_scale=0.01, payout_delay_s=5.0)))
    yield server
    server.stop()


@pytest.fixture
def beilypay(aws: AwsAccount, beilypay_sandbox: RunningServer, monkeypatch: pytest.MonkeyPatch) -> BeilyPayMerchant:
    """A paygate app with its own fresh BeilyPay app (and balance) in the sandbox, and the poller machine.

    Notifies go to an unreachable PUBLIC_BASE_URL: handler tests feed them to the callback themselves.
    """
    from paygate.apps.admin import BeilyPayAccount
    from paygate.apps.admin import create_app as create_paygate_app

    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = (ROOT / "statemachines" / "poll_pending.asl.json").read_text()
    definition = definition.replace(
        "${PollPendingFunctionArn}", f"arn:aws:lambda:{REGION}:123456789012:function:poll-pending"
    )
    arn = sfn.create_state_machine(
        name=POLL_MACHINE, definition=definition, roleArn="arn:aws:iam::123456789012:role/states"
    )["stateMachineArn"]
    monkeypatch.setenv("BEILYPAY_BASE_URL", beilypay_sandbox.url)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("POLL_STATE_MACHINE_ARN", arn)
    monkeypatch.setenv("POLL_FIRST_WAIT_S", "1")
    monkeypatch.setenv("POLL_MAX_WAIT_S", "4")
    monkeypatch.setenv("POLL_GROWTH", "2")  # doubling shows each round's growth below the 4 s cap
    monkeypatch.setenv("POLL_DEADLINE_S", "60")
    clear_container_caches()

    account = BeilyPayAccount(
        app_id=int(uuid.uuid4().int % 9_000_000_000) + 1_000_000_000,
        merchant_id=int(uuid.uuid4().int % 2_000_000_000) + 1,
        secret=uuid.uuid4().hex,
    )
    app, api_key, _ = create_paygate_app("india-shop", beecloud=None, beilypay=account)
    response = httpx.post(
        f"{beilypay_sandbox.url}/_sandbox/apps",
        json={
            "app_id": account.app_id,
            "merchant_id": account.merchant_id,
            "secret": account.secret,
            "balance": BEILYPAY_BALANCE,
        },
    )
    assert response.status_code in (200, 201), response.text
    return BeilyPayMerchant(
        app.app_id,
        api_key,
        account.app_id,
        account.merchant_id,
        account.secret,
        beilypay_sandbox.url,
        arn,
    )


@pytest.fixture
def beilypay_faults(beilypay_sandbox: RunningServer) -> Iterator[str]:
    yield beilypay_sandbox.url
    httpx.delete(f"{beilypay_sandbox.url}/_sandbox/faults")


@pytest.fixture
def follow_up_queue(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> FollowUpQueue:
    """BillFollowUpQueue in moto, wired to CreateBill and BillFollowUp with a 1 s first delay."""
    url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="bill-follow-ups")["QueueUrl"]
    monkeypatch.setenv("BILL_FOLLOW_UP_QUEUE_URL", url)
    monkeypatch.setenv("BILL_FOLLOW_UP_S", "1")
    clear_container_caches()
    return FollowUpQueue(url)
