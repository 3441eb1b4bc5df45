"""The local API Gateway's authorizer, usage-plan and stage throttling, and gateway responses.

Driven with a clock the test moves, so the buckets' arithmetic is exact: a request one key's
bucket refuses spends nothing of the stage's; an authorizer's answer is cached per identity for
its TTL; the template's gateway responses shape every refusal.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from paygate_local.api_auth import (
    Authorizer,
    Gatekeeper,
    GatewayResponses,
    MethodThrottles,
    Refused,
    RouteAuth,
    UsagePlan,
    gatekeeper_from_template,
)

ARN = "arn:aws:execute-api:us-east-1:123456789012:api0000000/dev/GET/bills"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeAuthorizerFunction:
    """An authorizer Lambda: keys it knows -> their usage keys; counts its invocations."""

    def __init__(self, keys: dict[str, str | None]) -> None:
        self.keys = keys
        self.calls = 0

    def __call__(self, event: dict[str, Any]) -> tuple[bool, Any]:
        self.calls += 1
        token = (event["headers"].get("Authorization") or "").removeprefix("Bearer ")
        if token == "crash":
            return True, {"errorMessage": "boom", "errorType": "RuntimeError"}
        if token not in self.keys:
            return True, {"errorMessage": "Unauthorized"}
        effect = "Deny" if token == "denied" else "Allow"
        answer = {
            "principalId": f"app-{token}",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Action": "execute-api:Invoke", "Effect": effect, "Resource": [ARN.rsplit("/", 2)[0] + "/*/*"]}
                ],
            },
            "context": {"app_id": f"app-{token}"},
        }
        if self.keys[token]:
            answer["usageIdentifierKey"] = self.keys[token]
        return False, answer


def _event(key: str | None, resource: str = "/bills", method: str = "GET") -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return {"headers": headers, "resource": resource, "httpMethod": method}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def function() -> FakeAuthorizerFunction:
    return FakeAuthorizerFunction(
        {"a": "usage-a", "b": "usage-b", "nokey": None, "denied": "usage-a", "ghost": "usage-x"}
    )


def _gate(clock: Clock, function: FakeAuthorizerFunction, *, rate=2.0, burst=3, stage=(100.0, 100), ttl=5.0):
    plan = UsagePlan(rate, burst, lambda: {"usage-a", "usage-b"}, clock)
    stage_default = {
        "ResourcePath": "/*",
        "HttpMethod": "*",
        "ThrottlingRateLimit": stage[0],
        "ThrottlingBurstLimit": stage[1],
    }
    gate = Gatekeeper(GatewayResponses(), plan, MethodThrottles([stage_default], clock), clock)
    route = RouteAuth(Authorizer("MerchantKey", "AuthorizeFunction", ("Authorization",), ttl, function), True)
    return gate, route


def _refusal(gate: Gatekeeper, route: RouteAuth, key: str | None) -> str | None:
    try:
        gate.check(route, _event(key), ARN)
    except Refused as refused:
        return refused.response_type
    return None


def test_each_key_has_its_own_bucket_refilled_at_the_plans_rate(clock, function):
    gate, route = _gate(clock, function, rate=2.0, burst=3)

    assert [_refusal(gate, route, "a") for _ in range(4)] == [None, None, None, "THROTTLED"]
    assert [_refusal(gate, route, "b") for _ in range(3)] == [None, None, None]  # b's bucket is its own
    clock.now += 0.5  # one token at 2/s
    assert [_refusal(gate, route, "a") for _ in range(2)] == [None, "THROTTLED"]


def test_a_request_one_merchants_bucket_refuses_spends_nothing_of_the_stages(clock, function):
    gate, route = _gate(clock, function, rate=1.0, burst=2, stage=(0.001, 3))

    refusals = [_refusal(gate, route, "a") for _ in range(50)]

    assert refusals.count(None) == 2
    assert refusals.count("THROTTLED") == 48
    # The stage (burst 3) spent 2, not 50: b gets the last one...
    assert _refusal(gate, route, "b") is None
    # ...and then the stage refuses b although b's own bucket (burst 2) still holds a token.
    assert _refusal(gate, route, "b") == "THROTTLED"


def test_the_stages_limit_applies_to_each_method_on_its_own_and_a_methods_own_setting_replaces_it(clock):
    throttles = MethodThrottles(
        [
            {"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": "1", "ThrottlingBurstLimit": "2"},
            {
                "ResourcePath": "/~1pay~1{token}~1status",
                "HttpMethod": "GET",
                "ThrottlingRateLimit": "1",
                "ThrottlingBurstLimit": "5",
            },
        ],
        clock,
    )

    assert [throttles.take("/bills", "GET") for _ in range(3)] == [True, True, False]
    assert [throttles.take("/bills", "POST") for _ in range(3)] == [True, True, False]  # its own bucket
    assert [throttles.take("/pay/{token}/status", "GET") for _ in range(6)] == [True] * 5 + [False]
    assert throttles.limit("/pay/{token}", "GET") == (1.0, 2)  # the page itself keeps the stage's default
    clock.now += 1.0
    assert throttles.take("/bills", "GET")


def test_a_stage_without_throttle_settings_throttles_nothing(clock):
    throttles = MethodThrottles([{"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True}], clock)

    assert all(throttles.take("/bills", "GET") for _ in range(1000))


def test_the_authorizers_answer_is_cached_per_key_for_its_ttl(clock, function):
    gate, route = _gate(clock, function, burst=100, ttl=5.0)

    for _ in range(10):
        assert _refusal(gate, route, "a") is None
    assert function.calls == 1
    _refusal(gate, route, "b")
    assert function.calls == 2
    clock.now += 5.0
    _refusal(gate, route, "a")
    assert function.calls == 3


def test_refusals_before_the_integration(clock, function):
    gate, route = _gate(clock, function)

    assert _refusal(gate, route, None) == "UNAUTHORIZED"  # no identity: the authorizer is not called
    assert function.calls == 0
    assert _refusal(gate, route, "wrong") == "UNAUTHORIZED"
    assert _refusal(gate, route, "crash") == "AUTHORIZER_FAILURE"
    assert _refusal(gate, route, "denied") == "ACCESS_DENIED"
    assert _refusal(gate, route, "nokey") == "INVALID_API_KEY"  # allowed, but names no usage key
    assert _refusal(gate, route, "ghost") == "INVALID_API_KEY"  # names a key the plan does not hold


def test_a_key_added_to_the_plan_works_at_once_and_a_removed_one_after_the_next_miss(clock, function):
    keys = {"usage-a"}
    plan = UsagePlan(10, 10, lambda: set(keys), clock)

    assert not plan.is_key("usage-new")
    keys.add("usage-new")
    assert plan.is_key("usage-new")
    keys.discard("usage-a")
    assert not plan.is_key("usage-other")  # a miss re-reads the plan...
    assert not plan.is_key("usage-a")  # ...and what it no longer holds is refused


def test_a_route_without_authorizer_or_key_goes_straight_through(clock, function):
    gate, _ = _gate(clock, function)

    assert gate.check(RouteAuth(None, False), _event(None), ARN) is None


def test_gateway_responses_take_the_templates_status_headers_and_body():
    responses = GatewayResponses(
        {
            "THROTTLED": {
                "StatusCode": "429",
                "ResponseParameters": {"Headers": {"Retry-After": "'1'", "X-From": "method.request.header.x"}},
                "ResponseTemplates": {
                    "application/json": '{"error":{"code":"rate_limited","request_id":"$context.requestId"}}'
                },
            },
            "DEFAULT_4XX": {"ResponseTemplates": {"application/json": '{"error":{"code":"client"}}'}},
        }
    )

    throttled = responses.answer("THROTTLED", "req-1")
    assert throttled.status == 429
    assert ("Retry-After", "1") in throttled.headers
    assert all(name != "X-From" for name, _ in throttled.headers)  # request mappings are not static values
    assert json.loads(throttled.body) == {"error": {"code": "rate_limited", "request_id": "req-1"}}
    denied = responses.answer("ACCESS_DENIED", "req-2")  # falls back to DEFAULT_4XX's template
    assert (denied.status, json.loads(denied.body)) == (403, {"error": {"code": "client"}})
    failure = GatewayResponses().answer("AUTHORIZER_FAILURE", "req-3")  # API Gateway's own default
    assert failure.status == 500


def test_the_templates_api_configures_authorizer_routes_and_stage_throttle(clock):
    api = {
        "Auth": {
            "ApiKeyRequired": True,
            "DefaultAuthorizer": "MerchantKey",
            "Authorizers": {
                "MerchantKey": {
                    "FunctionArn": "arn:fn:auth",
                    "FunctionPayloadType": "REQUEST",
                    "Identity": {"Headers": ["Authorization"], "ReauthorizeEvery": "7"},
                }
            },
        },
        "MethodSettings": [
            {"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": "9", "ThrottlingBurstLimit": "4"}
        ],
    }

    class Route:
        def __init__(self, authorizer=None, api_key_required=None) -> None:
            self.authorizer, self.api_key_required = authorizer, api_key_required

    gate, route_auth = gatekeeper_from_template(
        api, {"arn:fn:auth": "AuthorizeFunction"}, lambda f, e: (False, {}), None
    )

    default = route_auth(Route())
    assert default.authorizer is not None
    assert (default.authorizer.function, default.authorizer.ttl_s, default.api_key_required) == (
        "AuthorizeFunction",
        7.0,
        True,
    )
    assert route_auth(Route("NONE", False)) == RouteAuth(None, False)
    assert gate.throttles is not None
    assert gate.throttles.limit("/bills", "GET") == (9.0, 4)
