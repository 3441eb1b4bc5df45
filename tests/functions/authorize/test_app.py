"""Authorize, as API Gateway calls it (events/authorize_request.json): whose rate limit a request spends.

A merchant's genuine key is allowed on every route (API Gateway caches the answer per key for
all of them) and metered under its app's own usage key; an app without one falls back to the
plan's shared key; any wrong, rotated-out or missing key is API Gateway's 401.
"""

from __future__ import annotations

import boto3
import pytest

from tests.support.functions import clear_container_caches, load_event, load_function
from tests.support.lambda_context import FakeLambdaContext

SHARED = "pgusharedkeyforthetests0000000000"


def _authorize(event: dict) -> dict:
    return load_function("authorize").lambda_handler(event, FakeLambdaContext(function_name="authorize"))


def _request(auth: str | None) -> dict:
    event = load_event("authorize_request")
    event["headers"].pop("Authorization")
    event["multiValueHeaders"].pop("Authorization")
    if auth is not None:
        event["headers"]["Authorization"] = auth
        event["multiValueHeaders"]["Authorization"] = [auth]
    return event


@pytest.fixture
def shared_key(aws, monkeypatch) -> str:
    monkeypatch.setenv("SHARED_USAGE_KEY", SHARED)
    clear_container_caches()
    return SHARED


def test_a_genuine_key_is_allowed_on_every_route_and_metered_under_the_shared_key_until_registered(
    merchant, shared_key
):
    answer = _authorize(_request(merchant.auth))

    assert answer["principalId"] == merchant.app_id
    assert answer["context"] == {"app_id": merchant.app_id}
    assert answer["usageIdentifierKey"] == shared_key
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    # Cached per key for every route: the policy names the whole stage, not the route asked.
    assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/*/*"]


def test_a_registered_app_spends_its_own_usage_key(merchant, shared_key, monkeypatch):
    from paygate.apps.admin import register_usage_keys

    apigateway = boto3.client("apigateway", region_name="us-east-1")
    plan = apigateway.create_usage_plan(name="merchants", throttle={"rateLimit": 5, "burstLimit": 10})
    monkeypatch.setenv("USAGE_PLAN_ID", plan["id"])
    clear_container_caches()
    registered = register_usage_keys(merchant.app_id)

    answer = _authorize(_request(merchant.auth))

    assert answer["usageIdentifierKey"] == registered[merchant.app_id] != shared_key
    in_plan = {k["value"] for k in apigateway.get_usage_plan_keys(usagePlanId=plan["id"])["items"]}
    assert answer["usageIdentifierKey"] in in_plan


@pytest.mark.parametrize(
    "auth",
    [
        None,
        "",
        "Bearer pgk.app_0123456789abcdef.REPLACE-WITH-YOUR-KEY",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-key",
    ],
)
def test_anything_but_a_genuine_key_is_api_gateways_401(merchant, shared_key, auth):
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize(_request(auth))


def test_a_rotated_out_key_is_refused(merchant, shared_key):
    from paygate.apps.admin import rotate_key

    new_key = rotate_key(merchant.app_id)
    clear_container_caches()

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        _authorize(_request(merchant.auth))
    assert _authorize(_request(f"Bearer {new_key}"))["principalId"] == merchant.app_id
