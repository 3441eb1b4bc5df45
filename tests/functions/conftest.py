"""Handlers with their real event shapes, against moto (in-process) and the real BeeCloud sandbox.

Each test gets a fresh moto account with the template's tables and bus, and a catch-all rule
that copies every published event into an SQS queue the test can read.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from sandbox.beecloud.app import BeeCloudConfig, create_app
from sandbox.common.server import RunningServer, serve_in_thread
from tests.support.lambda_context import FakeLambdaContext
from tests.support.sandbox import first_notification
from tests.support.template import ROOT, table_definitions

REGION = "us-east-1"
STAGE = "test"
BUS = f"paygate-{STAGE}"


def _clear_container_caches() -> None:
    """A fresh 'container': no clients or settings carried over from another test."""
    from aws_lambda_powertools.utilities import parameters

    from paygate import app_secrets, aws, deps, settings
    from paygate.api import idempotency

    aws.clear_caches()
    settings.get_settings.cache_clear()
    for name in dir(deps):
        func = getattr(deps, name)
        if hasattr(func, "cache_clear"):
            func.cache_clear()
    idempotency._persistence.cache_clear()
    parameters.clear_caches()
    app_secrets._provider.cache_clear()


@dataclass
class AwsAccount:
    events_queue_url: str

    def published_events(self) -> list[dict[str, Any]]:
        """Every event on the bus so far (EventBridge envelopes), oldest first."""
        sqs = boto3.client("sqs", region_name=REGION)
        events = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return events
            for message in batch:
                events.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.events_queue_url, ReceiptHandle=message["ReceiptHandle"])


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
    _clear_container_caches()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        names = {
            "OrdersTable": "orders",
            "AppsTable": "apps",
            "IdempotencyTable": "idempotency",
            "WebhooksTable": "webhooks",
        }
        for logical_id, args in table_definitions().items():
            dynamodb.create_table(TableName=names[logical_id], **args)
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        events.create_event_bus(Name=BUS)
        queue_url = sqs.create_queue(QueueName="all-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": ["paygate"]}))
        events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}])
        yield AwsAccount(events_queue_url=queue_url)
    _clear_container_caches()


@pytest.fixture(scope="session")
def beecloud_sandbox() -> Iterator[RunningServer]:
    server = serve_in_thread(create_app(BeeCloudConfig(time_scale=0.001, refund_delay_s=0.5)))
    yield server
    server.stop()


@dataclass
class Merchant:
    app_id: str
    api_key: str
    beecloud_app_id: str
    beecloud_app_secret: str
    beecloud_master_secret: str

    @property
    def auth(self) -> str:
        return f"Bearer {self.api_key}"


@pytest.fixture
def merchant(aws: AwsAccount, beecloud_sandbox: RunningServer) -> Merchant:
    """A paygate app with its own fresh BeeCloud app in the sandbox."""
    from paygate.admin import BeeCloudAccount
    from paygate.admin import create_app as create_paygate_app

    account = BeeCloudAccount(str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))
    app, api_key = create_paygate_app("shop", beecloud=account, beilypay=None)
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
    return Merchant(app.app_id, api_key, account.app_id, account.app_secret, account.master_secret or "")


_FUNCTIONS: dict[str, ModuleType] = {}


def load_function(name: str) -> ModuleType:
    """Import functions/<name>/app.py once, under its own module name, like its own container."""
    if name not in _FUNCTIONS:
        path = ROOT / "functions" / name / "app.py"
        spec = importlib.util.spec_from_file_location(f"paygate_function_{name}", path)
        assert spec
        assert spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _FUNCTIONS[name] = module
    return _FUNCTIONS[name]


def load_event(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "events" / f"{name}.json").read_text())


def api_event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event, built on the shape of events/create_bill.json."""
    event = load_event("create_bill")
    all_headers = {
        "Content-Type": "application/json",
        "Host": "api.example.com",
        "X-Forwarded-Proto": "https",
    }
    all_headers.update(headers or {})
    event.update(
        resource=resource or path,
        path=path,
        httpMethod=method,
        headers=all_headers,
        multiValueHeaders={k: [v] for k, v in all_headers.items()},
        pathParameters=path_params,
        queryStringParameters=query,
        multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None,
        body=body if isinstance(body, str) or body is None else json.dumps(body),
    )
    event["requestContext"].update(resourcePath=resource or path, httpMethod=method, path=f"/test{path}")
    return event


def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = load_function(function).lambda_handler(event, FakeLambdaContext(function_name=function))
    return result


def body_of(result: dict[str, Any]) -> Any:
    return json.loads(result["body"])


EVENTS_DIR: Path = ROOT / "events"


def sandbox_webhook(
    sandbox_url: str, merchant: Merchant, transaction_type: str, transaction_id: str, timeout_s: float = 5.0
) -> dict[str, Any]:
    """The signed webhook body BeeCloud (the sandbox) tried to deliver for this order."""
    ref = f"{merchant.beecloud_app_id}/{transaction_type}/{transaction_id}"
    return first_notification(sandbox_url, ref, timeout_s)


def pay_in_sandbox(sandbox_url: str, merchant: Merchant, bill_no: str) -> dict[str, Any]:
    response = httpx.post(f"{sandbox_url}/_sandbox/bills/{merchant.beecloud_app_id}/{bill_no}/pay")
    assert response.status_code == 200, response.text
    return sandbox_webhook(sandbox_url, merchant, "PAY", bill_no)


def webhook_event(merchant: Merchant, payload: dict[str, Any] | str, app_id: str | None = None) -> dict[str, Any]:
    target = app_id or merchant.app_id
    event = load_event("beecloud_webhook")
    event.update(
        path=f"/callbacks/beecloud/{target}",
        pathParameters={"app_id": target},
        body=payload if isinstance(payload, str) else json.dumps(payload),
    )
    return event


def add_fault(sandbox_url: str, **rule: Any) -> None:
    response = httpx.post(f"{sandbox_url}/_sandbox/faults", json=rule)
    assert response.status_code == 201, response.text


@pytest.fixture
def clean_faults(beecloud_sandbox: RunningServer) -> Iterator[str]:
    yield beecloud_sandbox.url
    httpx.delete(f"{beecloud_sandbox.url}/_sandbox/faults")


# ---------------------------------------------------------------- BeilyPay (payouts, collections)
from sandbox.beilypay.app import create_app as create_beilypay_app  # noqa: E402
from sandbox.beilypay.config import BeilyPayConfig  # noqa: E402

POLL_MACHINE = "paygate-test-poll-pending"
BEILYPAY_BALANCE = 10_000_000  # paise


@pytest.fixture(scope="session")
def beilypay_sandbox() -> Iterator[RunningServer]:
    # Payouts complete after payout_delay_s * time_scale = 0.05 s (accounts ending 9999 never do).
    server = serve_in_thread(create_beilypay_app(BeilyPayConfig(time_scale=0.01, payout_delay_s=5.0)))
    yield server
    server.stop()


@dataclass
class BeilyPayMerchant:
    app_id: str
    api_key: str
    beilypay_app_id: int
    beilypay_merchant_id: int
    beilypay_secret: str
    sandbox_url: str
    state_machine_arn: str

    @property
    def auth(self) -> str:
        return f"Bearer {self.api_key}"

    def sandbox_order(self, out_order_no: str) -> dict[str, Any] | None:
        """BeilyPay's own record of the order (the control API; finds it even if our create answer was lost)."""
        orders = httpx.get(
            f"{self.sandbox_url}/_sandbox/orders",
            params={"app_id": str(self.beilypay_app_id), "out_order_no": out_order_no},
        ).json()["orders"]
        assert len(orders) <= 1
        return orders[0] if orders else None

    def notify_body(self, order_no: str, timeout_s: float = 5.0) -> dict[str, Any]:
        """The signed notify the sandbox tried to deliver for this BeilyPay order."""
        return first_notification(self.sandbox_url, order_no, timeout_s)

    def executions(self) -> list[dict[str, Any]]:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        return sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]


@pytest.fixture
def beilypay(aws: AwsAccount, beilypay_sandbox: RunningServer, monkeypatch: pytest.MonkeyPatch) -> BeilyPayMerchant:
    """A paygate app with its own fresh BeilyPay app (and balance) in the sandbox, and the poller machine.

    Notifies go to an unreachable PUBLIC_BASE_URL: handler tests feed them to the callback themselves.
    """
    from paygate.admin import BeilyPayAccount
    from paygate.admin import create_app as create_paygate_app

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
    _clear_container_caches()

    account = BeilyPayAccount(
        app_id=int(uuid.uuid4().int % 9_000_000_000) + 1_000_000_000,
        merchant_id=int(uuid.uuid4().int % 2_000_000_000) + 1,
        secret=uuid.uuid4().hex,
    )
    app, api_key = create_paygate_app("india-shop", beecloud=None, beilypay=account)
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


def beilypay_notify_event(merchant: BeilyPayMerchant, payload: dict[str, Any] | str) -> dict[str, Any]:
    event = load_event("beilypay_notify")
    event.update(
        path=f"/callbacks/beilypay/{merchant.app_id}",
        pathParameters={"app_id": merchant.app_id},
        body=payload if isinstance(payload, str) else json.dumps(payload),
    )
    return event


# ---------------------------------------------------------------- bill follow-ups (BillFollowUpQueue)
@dataclass
class FollowUpQueue:
    url: str

    def attributes(self) -> dict[str, int]:
        """Visible and delayed message counts."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"]
        attrs = boto3.client("sqs", region_name=REGION).get_queue_attributes(QueueUrl=self.url, AttributeNames=names)
        return {name: int(value) for name, value in attrs["Attributes"].items()}

    def receive(self, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """The next messages once their delay is over (a bounded long poll), removed from the queue."""
        sqs = boto3.client("sqs", region_name=REGION)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            messages = sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"]
            ).get("Messages", [])
            if messages:
                for message in messages:
                    sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
                return messages
        raise AssertionError(f"no follow-up within {timeout_s} s")

    def sqs_event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """Lambda's SQS event for these messages, as the event source mapping would send it."""
        from paygate_local.sqs_source import sqs_record

        arn = f"arn:aws:sqs:{REGION}:123456789012:{self.url.rsplit('/', 1)[-1]}"
        return {"Records": [sqs_record(m, arn) for m in messages]}


@pytest.fixture
def follow_up_queue(aws: AwsAccount, monkeypatch: pytest.MonkeyPatch) -> FollowUpQueue:
    """BillFollowUpQueue in moto, wired to CreateBill and BillFollowUp with a 1 s first delay."""
    url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="bill-follow-ups")["QueueUrl"]
    monkeypatch.setenv("BILL_FOLLOW_UP_QUEUE_URL", url)
    monkeypatch.setenv("BILL_FOLLOW_UP_S", "1")
    _clear_container_caches()
    return FollowUpQueue(url)
