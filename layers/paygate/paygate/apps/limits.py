"""Per-merchant rate limits: API Gateway's usage plan meters each app under its own usage key.

A merchant's burst must be refused before it spends anything shared: the stage's and the
account's request rate, Lambda concurrency, DynamoDB. API Gateway does exactly that for a usage
plan's keys: each key gets the plan's rate and burst (a token bucket), and a request over it is
answered `429` at the edge without running a function. Callers never send that key: the API's
Lambda authorizer checks the merchant's own API key and names the app's usage key
(`usageIdentifierKey`, the API's key source is AUTHORIZER), so a caller cannot spend another
merchant's allowance, and a wrong key is refused (`401`) without spending any.

The usage key is not a secret (it only names a bucket); it is created by the operator CLI when an
app is created (`register_usage_key`, repeatable) and kept on the app item. Apps created before
rate limits existed share the plan's one shared key until `apps register-usage-keys` gives them
their own.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from paygate.apps.keys import AppLookup, authenticate
from paygate.errors import UnauthorizedError
from paygate.models import App
from paygate.store.apps import AppsStore

# API Gateway takes alphanumeric key values of 20 to 128 characters, unique per region.
_USAGE_KEY_PREFIX = "pgu"


def new_usage_key(app_id: str) -> str:
    return f"{_USAGE_KEY_PREFIX}{app_id.removeprefix('app_')}{secrets.token_hex(12)}"


def usage_key_name(stage: str, app_id: str) -> str:
    """The API Gateway key's name: how a repeated registration finds the key a failed one made."""
    return f"paygate-{stage}-{app_id}"


def usage_key_for(app: App, shared_usage_key: str) -> str | None:
    return app.usage_key or shared_usage_key or None


class Unauthorized(Exception):  # noqa: N818 - API Gateway's contract: this exact message means 401
    """Raised by the authorizer: API Gateway answers 401 (its UNAUTHORIZED gateway response)."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def authorize(authorization: str | None, method_arn: str, apps: AppLookup, shared_usage_key: str) -> dict[str, Any]:
    """The authorizer's answer: allow every route for this app's key, metered under its usage key.

    API Gateway caches the answer per Authorization header for the authorizer's TTL, for every
    route, so the policy must name them all. The functions still authenticate the key themselves:
    the authorizer only decides whose allowance a request spends.
    """
    from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
        APIGatewayAuthorizerResponse,
    )

    try:
        app = authenticate(authorization, apps)
    except UnauthorizedError:
        raise Unauthorized() from None
    answer = APIGatewayAuthorizerResponse.from_route_arn(
        method_arn,
        principal_id=app.app_id,
        context={"app_id": app.app_id},
        usage_identifier_key=usage_key_for(app, shared_usage_key),
    )
    answer.allow_all_routes()
    return answer.asdict()


class UsageKeyRegistry:
    """Creates an app's key in API Gateway, adds it to the plan, records it on the app item.

    Every step can be repeated: a registration cut short leaves at worst a key the next attempt
    finds by name and reuses, never two keys for one app.
    """

    def __init__(self, apigateway: Any, apps: AppsStore, *, usage_plan_id: str, stage: str) -> None:
        self._apigateway = apigateway
        self._apps = apps
        self._plan = usage_plan_id
        self._stage = stage

    def register(self, app_id: str) -> str:
        app = self._apps.get(app_id)
        if app is None:
            raise LookupError(f"no app {app_id}")
        if app.usage_key:
            return app.usage_key
        key_id, value = self._find_or_create(app_id)
        # Already in the plan (ConflictException): an earlier attempt got this far.
        with contextlib.suppress(self._apigateway.exceptions.ConflictException):
            self._apigateway.create_usage_plan_key(usagePlanId=self._plan, keyId=key_id, keyType="API_KEY")
        if not self._apps.set_usage_key(app_id, value):
            current = self._apps.get(app_id)
            if current is None or not current.usage_key:
                raise LookupError(f"no app {app_id}")
            return current.usage_key
        return value

    def _find_or_create(self, app_id: str) -> tuple[str, str]:
        name = usage_key_name(self._stage, app_id)
        found = self._apigateway.get_api_keys(nameQuery=name, includeValues=True).get("items", [])
        for key in found:
            if key.get("name") == name:
                return str(key["id"]), str(key["value"])
        created = self._apigateway.create_api_key(
            name=name, value=new_usage_key(app_id), enabled=True, description="paygate: this app's rate limit"
        )
        return str(created["id"]), str(created["value"])
