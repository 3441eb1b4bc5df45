"""The whole gateway on a local stack, as the end-to-end tests drive it.

A stack, its merchants and its event log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
import httpx

from paygate.clock import iso_from_ms, now_ms
from paygate_local.stack import LocalStack, StackInfo


@dataclass
class Gateway:
    stack: LocalStack
    info: StackInfo

    def merchant(self, name: str = "shop") -> Merchant:
        """A fresh tenant with its own API key and provider accounts."""
        app = self.stack.create_app(name)
        return Merchant(
            app_id=app["app_id"],
            http=httpx.Client(
                base_url=self.info.api_url, headers={"Authorization": f"Bearer {app['api_key']}"}, timeout=35
            ),
            beecloud_app_id=app["beecloud"]["app_id"],
            beilypay=app["beilypay"],
        )

    def events(self, detail_type: str | None = None, app_id: str | None = None) -> list[dict[str, Any]]:
        params = {"detail_type": detail_type} if detail_type else {}
        events = httpx.get(self.info.events_url, params=params, timeout=10).json()
        return [e for e in events if app_id is None or e["detail"].get("app_id") == app_id]

    def reconcile(self, payload: dict[str, Any]) -> dict[str, Any]:
        """An operator's on-demand run: Lambda Invoke of the template's ReconcileFunction."""
        assert self.stack.template is not None
        name = self.stack.template.functions["ReconcileFunction"].name
        lam = boto3.client(
            "lambda",
            endpoint_url=self.info.moto_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        response = lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
        assert "FunctionError" not in response, response["Payload"].read()
        report: dict[str, Any] = json.loads(response["Payload"].read())
        return report


def last_hour() -> dict[str, str]:
    """A reconciliation period around the test's orders: the last hour and the next minute."""
    now = now_ms()
    return {"from": iso_from_ms(now - 3_600_000), "to": iso_from_ms(now + 60_000)}


@dataclass
class Merchant:
    app_id: str
    http: httpx.Client
    beecloud_app_id: str
    beilypay: dict[str, Any]
