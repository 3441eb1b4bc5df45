"""Shared fixtures: one DynamoDB Local JVM per session, one fixture stack per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from paygate_local.dynamodb_local import DynamoDBLocal
from paygate_local.stack import LocalStack
from tests.paygate_local.helpers import FIXTURE_TEMPLATE, INTEGRATION_TIMEOUT_S, free_ports_config


@pytest.fixture(scope="session")
def dynamodb_url() -> Iterator[str]:
    ddb = DynamoDBLocal(port=0)
    ddb.start()
    try:
        yield ddb.url
    finally:
        ddb.stop()


@pytest.fixture(scope="module")
def fixture_stack(dynamodb_url: str) -> Iterator[LocalStack]:
    config = free_ports_config(
        template=FIXTURE_TEMPLATE,
        dynamodb_url=dynamodb_url,
        name_prefix="plt-fixture",
        integration_timeout=INTEGRATION_TIMEOUT_S,
    )
    with LocalStack(config) as stack:
        yield stack
