"""Running the functions' handlers in-process, as Lambda would.

Their events (API Gateway, provider callbacks, the files in events/), the moto account and the
merchants that the fixtures of tests/functions/conftest.py set up.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import httpx

from bench.samples import first_notification
from tests.support.lambda_context import FakeLambdaContext
from tests.support.polling import WAIT_S
from tests.support.template import ROOT

REGION = "us-east-1"
STAGE = "test"
BUS = f"paygate-{STAGE}"


def clear_container_caches() -> None:
    """A fresh 'container': no clients or settings carried over from another test."""
    from aws_lambda_powertools.utilities import parameters

    from paygate import aws, credentials, deps
    from paygate.api import idempotency

    aws.clear_caches()
    deps.clear_caches()
    idempotency._persistence.cache_clear()
    parameters.clear_caches()
    credentials._provider.cache_clear()


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


@dataclass
class Merchant:
    app_id: str
    api_key: str
    beecloud_app_id: str
    beecloud_app_secret: str
    beecloud_master_secret: str
    checkout_secret: str = ""

    @property
    def auth(self) -> str:
        return f"Bearer {self.api_key}"


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


def result_headers(result: dict[str, Any]) -> dict[str, str]:
    """A proxy result's headers as one map (Powertools puts them in multiValueHeaders)."""
    merged = {k: str(v) for k, v in (result.get("headers") or {}).items()}
    merged.update({k: str(v[-1]) for k, v in (result.get("multiValueHeaders") or {}).items()})
    return merged


def body_of(result: dict[str, Any]) -> Any:
    return json.loads(result["body"])


EVENTS_DIR: Path = ROOT / "events"


def sandbox_webhook(
    sandbox_url: str, merchant: Merchant, transaction_type: str, transaction_id: str, timeout_s: float = WAIT_S
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


POLL_MACHINE = "paygate-test-poll-pending"
BEILYPAY_BALANCE = 10_000_000  # paise


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

    def notify_body(self, order_no: str, timeout_s: float = WAIT_S) -> dict[str, Any]:
        """The signed notify the sandbox tried to deliver for this BeilyPay order."""
        return first_notification(self.sandbox_url, order_no, timeout_s)

    def executions(self) -> list[dict[str, Any]]:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        return sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]


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
