"""Usage keys: one per app in the plan, registration repeatable and never doubled; the authorizer's answer."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from paygate.apps.keys import hash_key, new_api_key
from paygate.apps.limits import Unauthorized, UsageKeyRegistry, authorize, usage_key_name
from paygate.models import App
from paygate.store.apps import AppsStore
from tests.support.template import table_definitions

REGION = "us-east-1"
APP_ID = "app_0123456789abcdef"
ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/bills"


@pytest.fixture
def aws(monkeypatch) -> Iterator[tuple[object, AppsStore, str]]:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(TableName="apps", **table_definitions()["AppsTable"])
        apigateway = boto3.client("apigateway", region_name=REGION)
        plan = apigateway.create_usage_plan(name="merchants", throttle={"rateLimit": 5, "burstLimit": 10})
        yield apigateway, AppsStore(dynamodb, "apps"), plan["id"]


def _app(**fields: object) -> App:
    return App.model_validate(
        {"app_id": APP_ID, "name": "m", "key_hash": hash_key(new_api_key(APP_ID)), "created_at_ms": 1, **fields}
    )


def _plan_values(apigateway, plan_id: str) -> list[str]:
    return [k["value"] for k in apigateway.get_usage_plan_keys(usagePlanId=plan_id)["items"]]


def test_registering_gives_the_app_one_key_in_the_plan_and_records_it(aws):
    apigateway, apps, plan_id = aws
    apps.create(_app())
    registry = UsageKeyRegistry(apigateway, apps, usage_plan_id=plan_id, stage="prod")

    value = registry.register(APP_ID)

    assert value.isalnum()  # API Gateway's rule for key values: alphanumeric, 20 to 128 characters
    assert 20 <= len(value) <= 128
    assert _plan_values(apigateway, plan_id) == [value]
    stored = apps.get(APP_ID)
    assert stored is not None
    assert stored.usage_key == value
    assert registry.register(APP_ID) == value  # repeatable
    assert _plan_values(apigateway, plan_id) == [value]
    assert len(apigateway.get_api_keys()["items"]) == 1


def test_a_registration_cut_short_is_finished_by_the_next_with_the_same_key(aws):
    apigateway, apps, plan_id = aws
    apps.create(_app())
    # The first attempt created the key and stopped (no plan membership, nothing on the app item).
    orphan = apigateway.create_api_key(name=usage_key_name("prod", APP_ID), value="pgu" + "1" * 30, enabled=True)

    value = UsageKeyRegistry(apigateway, apps, usage_plan_id=plan_id, stage="prod").register(APP_ID)

    assert value == orphan["value"]
    assert _plan_values(apigateway, plan_id) == [value]
    assert len(apigateway.get_api_keys()["items"]) == 1


def test_an_unknown_app_gets_no_key(aws):
    apigateway, apps, plan_id = aws

    with pytest.raises(LookupError):
        UsageKeyRegistry(apigateway, apps, usage_plan_id=plan_id, stage="prod").register(APP_ID)
    assert apigateway.get_api_keys()["items"] == []


class OneApp:
    def __init__(self, app: App) -> None:
        self.app = app

    def get(self, app_id: str, *, refresh: bool = False) -> App | None:
        return self.app if app_id == self.app.app_id else None


def test_the_authorizer_names_the_apps_own_key_else_the_shared_one():
    key = new_api_key(APP_ID)
    own = App.model_validate(
        {
            "app_id": APP_ID,
            "name": "m",
            "key_hash": hash_key(key),
            "created_at_ms": 1,
            "usage_key": "pguown0000000000000000000",
        }
    )

    assert (
        authorize(f"Bearer {key}", ARN, OneApp(own), "pgushared")["usageIdentifierKey"] == "pguown0000000000000000000"
    )
    legacy = own.model_copy(update={"usage_key": None})
    assert authorize(f"Bearer {key}", ARN, OneApp(legacy), "pgushared")["usageIdentifierKey"] == "pgushared"
    suspended = own.model_copy(update={"status": "suspended"})
    with pytest.raises(Unauthorized):
        authorize(f"Bearer {key}", ARN, OneApp(suspended), "pgushared")
