"""Per-merchant rate limits on the local stack, configured by the template's parameters.

Each app spends its own usage key's bucket (MerchantRateLimit / MerchantBurstLimit); a request
over it is answered 429 with Retry-After in the API's error shape, before any function runs, and
spends nothing of the stage's shared allowance: one merchant's burst never starves another.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from paygate_local.stack import REPO_ROOT, LocalStack
from tests.paygate_local.helpers import aws_client, free_ports_config

# Each merchant: 1 request a second after a burst of 4. Each route, for everyone: 40 at once, 1 a
# second after, which the whole module stays well under unless refusals were spending it. The
# checkout page's status route: 3 at once, for all payers.
LIMITS = {
    "MerchantRateLimit": "1",
    "MerchantBurstLimit": "4",
    "ApiThrottleRateLimit": "1",
    "ApiThrottleBurstLimit": "40",
    "CheckoutStatusRateLimit": "1",
    "CheckoutStatusBurstLimit": "3",
}


@pytest.fixture(scope="module")
def stack(dynamodb_url: str) -> Iterator[LocalStack]:
    config = free_ports_config(dynamodb_url=dynamodb_url, name_prefix="plt-limits", parameter_overrides=LIMITS)
    with LocalStack(config) as running:
        yield running


def _get(stack: LocalStack, key: str | None, path: str = "/bills") -> httpx.Response:
    assert stack.info is not None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.get(f"{stack.info.api_url}{path}", headers=headers, timeout=30)


def test_one_merchants_burst_is_refused_with_429_and_never_starves_another(stack):
    busy, quiet = stack.create_app("busy"), stack.create_app("quiet")

    started = time.monotonic()
    responses = [_get(stack, busy["api_key"]) for _ in range(60)]
    elapsed = time.monotonic() - started
    statuses = [response.status_code for response in responses]
    # A refusal from the burst itself: a request sent after it may find a token refilled meanwhile.
    refused = next(response for response in reversed(responses) if response.status_code == 429)

    assert statuses[:4] == [200] * 4
    # The burst of 4, plus 1 a second while the requests ran (however slow the machine), no more.
    assert statuses.count(200) <= 4 + math.ceil(elapsed)
    assert statuses.count(429) >= 60 - 4 - math.ceil(elapsed)
    assert set(statuses) == {200, 429}
    assert refused.headers["Retry-After"] == "1"
    error = refused.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["request_id"] == refused.headers["x-amzn-RequestId"]
    # The 50-odd refusals spent nothing of the stage's 40: the quiet merchant gets its whole burst.
    assert [_get(stack, quiet["api_key"]).status_code for _ in range(4)] == [200] * 4


def test_wrong_keys_are_refused_before_any_merchants_allowance_is_spent(stack):
    merchant = stack.create_app("guarded")
    prefix = f"pgk.{merchant['app_id']}."

    refusals = [_get(stack, prefix + f"guess{i}") for i in range(20)] + [_get(stack, None)]

    assert {r.status_code for r in refusals} == {401}  # and none of them spent the stage's allowance
    assert {r.json()["error"]["code"] for r in refusals} == {"unauthorized"}
    assert [_get(stack, merchant["api_key"]).status_code for _ in range(4)] == [200] * 4


def test_provider_callbacks_are_not_metered_by_any_merchants_limit(stack):
    merchant = stack.create_app("notified")
    for _ in range(6):
        _get(stack, merchant["api_key"])  # spend the merchant's burst

    # Not a valid notification (400), but it reached the function: no authorizer, no usage key.
    assert httpx.post(f"{stack.info.api_url}/callbacks/beecloud/{merchant['app_id']}", json={}).status_code == 400


def test_the_payers_polling_has_its_own_limit_and_never_spends_the_merchants_routes(stack):
    merchant = stack.create_app("polled")
    status = f"/pay/{'A' * 43}/status"  # no such session: the function answers 404 when it runs

    answers = [_get(stack, None, status) for _ in range(8)]

    assert [a.status_code for a in answers[:3]] == [404] * 3
    throttled = [a for a in answers[3:] if a.status_code == 429]
    assert len(throttled) >= 4  # at most one token refilled meanwhile
    assert throttled[0].json()["error"]["code"] == "rate_limited"
    assert throttled[0].headers["Retry-After"] == "1"
    assert _get(stack, merchant["api_key"]).status_code == 200  # /bills has its own bucket


def test_apps_made_before_limits_get_their_own_key_from_the_cli(stack):
    merchant = stack.create_app("legacy")
    apps = stack.template.resources["AppsTable"].name if stack.template else "apps"
    env = stack.admin_env()
    # An app from before rate limits: no usage key on its item (the authorizer names the shared key).
    _ddb_remove_usage_key(stack, apps, merchant["app_id"])

    listed = subprocess.run(
        [sys.executable, "-m", "paygate.apps.admin", "apps", "register-usage-keys"],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip

    assert merchant["app_id"] in json.loads(listed.stdout)["registered"]
    shown = stack._admin("apps", "show", "--app-id", merchant["app_id"])
    assert shown["usage_key"]
    assert _get(stack, merchant["api_key"]).status_code == 200


def _ddb_remove_usage_key(stack: LocalStack, table: str, app_id: str) -> None:
    assert stack.info is not None
    dynamodb = aws_client("dynamodb", stack.info.dynamodb_url)
    dynamodb.update_item(TableName=table, Key={"pk": {"S": f"APP#{app_id}"}}, UpdateExpression="REMOVE usage_key")
